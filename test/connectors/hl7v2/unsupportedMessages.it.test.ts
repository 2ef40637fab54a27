import { expect } from 'chai';
import { HubRuntime } from '../../../app/hubRuntime.ts';
import type { MllpConnector } from '../../../connectors/hl7v2-mllp/mllpConnector.ts';
import { KafkaTopicReader } from '../../../hub/bus/kafkaTopicReader.ts';
import { ENVELOPE_HEADERS } from '../../../hub/core/inboundEnvelope.ts';
import { DLQ_HEADERS } from '../../../hub/pipeline/deadLetter.ts';
import { ackCode, ackError, MllpTestClient } from '../../support/mllpClient.ts';
import { eventually, isolatedConfig } from '../../support/testServices.ts';
import { ConnectorHarness, testLogger } from '../connectorHarness.ts';
import { controlIdOf, sampleMessage } from '../hl7Samples.ts';

describe('message types no mapping handles', function () {
  this.timeout(120_000);

  describe('with the runtime and the real mapping registry', () => {
    const config = isolatedConfig();
    const runtime = new HubRuntime(config, testLogger(), { pipeline: false, api: false });
    const reader = new KafkaTopicReader(config.kafka.brokers);
    let client: MllpTestClient;

    before(async () => {
      await runtime.start();
      client = await MllpTestClient.connect((runtime.connectors[0] as MllpConnector).port!);
    });
    after(async () => {
      client?.close();
      await reader.close();
      await runtime.stop();
    });

    it('refuses ZZZ^Z99 at intake with AR and HL7 error 200, and dead-letters it with its headers', async () => {
      const ack = await client.send(sampleMessage('ZZZ-1', { type: 'ZZZ^Z99' }));
      expect(ackCode(ack)).to.deep.equal({ code: 'AR', controlId: 'ZZZ-1' });
      const err = ackError(ack)!;
      expect(err[2]).to.equal('MSH^1^9^^1');
      expect(err[3]).to.equal('200^Unsupported message type^HL70357');
      expect(err[5]).to.equal('HL7_MESSAGE_TYPE_UNSUPPORTED^^HUB');
      expect(err[8]).to.contain('ZZZ');

      const dead = await eventually(async () => {
        for await (const r of reader.read(config.kafka.topics.deadLetter)) if (controlIdOf(r.value) === 'ZZZ-1') return r;
        return undefined;
      }, 30_000, 'the dead-letter record');
      expect(dead.headers).to.include({
        [DLQ_HEADERS.code]: 'HL7_MESSAGE_TYPE_UNSUPPORTED', [DLQ_HEADERS.stage]: 'intake',
        [DLQ_HEADERS.originalTopic]: config.kafka.topics.hl7v2Inbound,
        [ENVELOPE_HEADERS.messageType]: 'ZZZ^Z99', [ENVELOPE_HEADERS.controlId]: 'ZZZ-1',
      });
      expect(dead.key).to.equal('DEMO_HOSP|MRN-ZZZ-1');
    });

    it('accepts the ADT^A01 the shipped mappings handle', async () => {
      expect(ackCode(await client.send(sampleMessage('A01-1'))).code).to.equal('AA');
    });
  });

  describe('with a support check refusing one trigger event', () => {
    const harness = new ConnectorHarness<MllpConnector>(
      { id: 'lis-results', kind: 'hl7v2-mllp', sourceSystem: 'LIS', host: '127.0.0.1', port: 0 },
      (m) => (m.triggerEvent === 'R99' ? { supported: false, unsupported: 'triggerEvent', reason: 'no mapping handles ORU^R99' } : { supported: true }),
    );
    before(() => harness.start());
    after(() => harness.stop());

    it('answers CR with HL7 error 201 in enhanced mode', async () => {
      const client = await MllpTestClient.connect(harness.connector.port!);
      const ack = await client.send(sampleMessage('R99-1', { type: 'ORU^R99', acceptAck: 'AL', appAck: 'NE' }));
      client.close();
      expect(ackCode(ack).code).to.equal('CR');
      expect(ackError(ack)![3]).to.equal('201^Unsupported event code^HL70357');
      expect(ackError(ack)![2]).to.equal('MSH^1^9^^2');
      const [dead] = await harness.awaitRecords(harness.deadLetterTopic, 1);
      expect(dead!.headers[DLQ_HEADERS.code]).to.equal('HL7_EVENT_UNSUPPORTED');
      expect(await harness.records(harness.inboundTopic)).to.have.length(0);
    });
  });
});

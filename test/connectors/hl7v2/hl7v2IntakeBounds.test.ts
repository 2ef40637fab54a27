import { expect } from 'chai';
import { Hl7v2Intake } from '../../../connectors/hl7v2/hl7v2Intake.ts';
import type { BusProducer, OutgoingRecord } from '../../../hub/bus/messageBus.ts';
import { silentLogger } from '../../../hub/core/logger.ts';
import { DLQ_HEADERS } from '../../../hub/pipeline/deadLetter.ts';
import { oruWithObx } from '../../support/largeOru.ts';
import { sampleMessage } from '../hl7Samples.ts';

/** Keeps what intake publishes, so the test sees where each message went without Kafka. */
function recordingProducer(): BusProducer & { records: OutgoingRecord[] } {
  const records: OutgoingRecord[] = [];
  return {
    records,
    inFlight: 0,
    publish: async (r) => {
      records.push(r);
      return { topic: r.topic, partition: 0, offset: records.length - 1 };
    },
    close: async () => undefined,
  };
}

/** The ERR segment of an ACK, split into fields (ERR-1 at index 1). */
function errSegment(ack: string): string[] {
  const err = ack.split('\r').find((s) => s.startsWith('ERR|'));
  if (!err) throw new Error(`no ERR segment in ${ack}`);
  return err.split('|');
}

describe('HL7v2 intake refuses messages beyond what the hub can take', () => {
  const settings = { connectorId: 'lis-results', sourceSystem: 'LIS', topic: 'in', deadLetterTopic: 'dlq', limits: { maxSegments: 5000 } };

  it('answers a 10,000-OBX ORU (~480 KB) AR within a second, naming the segment limit, and dead-letters it', async () => {
    const producer = recordingProducer();
    const intake = new Hl7v2Intake(settings, producer, silentLogger());
    const raw = Buffer.from(oruWithObx('BIG-1', 10_000));
    expect(raw.length).to.be.within(450_000, 520_000);

    const started = performance.now();
    const result = await intake.accept(raw);
    const elapsedMs = performance.now() - started;

    expect(result.ackCode).to.equal('AR');
    expect(elapsedMs, 'refused quickly').to.be.below(1000);
    const err = errSegment(result.ack);
    expect(err[2], 'ERR-2: the first segment over the limit').to.equal('OBX^5001');
    expect(err[5]).to.equal('HL7_TOO_MANY_SEGMENTS^^HUB');
    expect(err[8]).to.contain('10003 segments').and.contain('5000').and.contain('pipeline.limits.maxSegments');
    expect(producer.records.map((r) => r.topic)).to.deep.equal(['dlq']);
    expect(producer.records[0]!.headers).to.include({ [DLQ_HEADERS.code]: 'HL7_TOO_MANY_SEGMENTS', [DLQ_HEADERS.stage]: 'intake' });
  });

  it('accepts a message at the limit', async () => {
    const producer = recordingProducer();
    const intake = new Hl7v2Intake({ ...settings, limits: { maxSegments: 13 } }, producer, silentLogger());
    const result = await intake.accept(Buffer.from(oruWithObx('EDGE-1', 10)));
    expect(result.ackCode).to.equal('AA');
    expect(producer.records.map((r) => r.topic)).to.deep.equal(['in']);
  });

  it('refuses a NUL byte with AR naming the segment and field', async () => {
    const producer = recordingProducer();
    const intake = new Hl7v2Intake(settings, producer, silentLogger());
    const result = await intake.accept(Buffer.from(sampleMessage('NUL-1', { family: 'DO\u0000E' })));
    expect(result.ackCode).to.equal('AR');
    const err = errSegment(result.ack);
    expect(err[2], 'ERR-2: PID, third segment, field 5').to.equal('PID^3^5');
    expect(err[5]).to.equal('HL7_NUL_CHARACTER^^HUB');
    expect(err[8]).to.contain('PID-5');
    expect(producer.records.map((r) => r.topic)).to.deep.equal(['dlq']);
  });
});

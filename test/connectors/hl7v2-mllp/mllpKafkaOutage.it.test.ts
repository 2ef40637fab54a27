import { expect } from 'chai';
import type { MllpConnector } from '../../../connectors/hl7v2-mllp/mllpConnector.ts';
import { ackCode, MllpTestClient } from '../../support/mllpClient.ts';
import { PrivateKafkaBroker } from '../../support/privateKafkaBroker.ts';
import { eventually } from '../../support/testServices.ts';
import { ConnectorHarness } from '../connectorHarness.ts';
import { controlIdOf, sampleMessage } from '../hl7Samples.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs on a private broker (own ports and data folder): stopping the shared one would break
 * everyone else's tests.
 */
describe('MLLP connector while Kafka stops and restarts (private broker)', function () {
  this.timeout(400_000);
  const broker = new PrivateKafkaBroker();
  let harness: ConnectorHarness<MllpConnector> | undefined;

  before(async function () {
    if (!PrivateKafkaBroker.available()) this.skip();
    await broker.create();
    await broker.start();
    harness = new ConnectorHarness<MllpConnector>(
      { id: 'his-adt', kind: 'hl7v2-mllp', sourceSystem: 'HIS', host: '127.0.0.1', port: 0 },
      undefined,
      { 'kafka.brokers': broker.brokers, 'kafka.deliveryTimeoutMs': 3000 },
    );
    await harness.start();
  });

  after(async () => {
    await harness?.stop();
    await broker.destroy();
  });

  it('never ACKs a message that is not in Kafka: each ends ACKed-and-stored or NAKed with AE', async () => {
    const h = harness!;
    const outcomes = new Map<string, string>();
    const count = (code: string) => [...outcomes.values()].filter((c) => c === code).length;
    let sending = true;
    const senders = [0, 1, 2].map(async (s) => {
      const client = await MllpTestClient.connect(h.connector.port!);
      for (let n = 0; sending; n += 1) {
        const id = `S${s}-${n}`;
        outcomes.set(id, 'pending');
        outcomes.set(id, ackCode(await client.send(sampleMessage(id, { mrn: `P${n % 7}` }), 60_000)).code);
        await sleep(20);
      }
      client.close();
    });

    await eventually(async () => (count('AA') >= 30 ? true : undefined), 60_000, '30 messages accepted');
    await broker.stop();
    const acceptedBeforeOutage = count('AA');
    await eventually(async () => (count('AE') >= 6 ? true : undefined), 120_000, 'error ACKs while Kafka is down');
    expect(h.connector.health().status).to.equal('degraded');
    // Still serving: a sender that connects during the outage is answered, not left hanging.
    const late = await MllpTestClient.connect(h.connector.port!);
    outcomes.set('LATE-1', ackCode(await late.send(sampleMessage('LATE-1'), 60_000)).code);
    late.close();
    expect(outcomes.get('LATE-1')).to.equal('AE');
    expect(count('AA') - acceptedBeforeOutage).to.be.at.most(3); // at most the messages already in flight

    await broker.start();
    const acceptedAtRestart = count('AA');
    await eventually(async () => (count('AA') >= acceptedAtRestart + 30 ? true : undefined), 180_000, 'acceptance to resume');
    sending = false;
    await Promise.all(senders);

    const stored = new Set((await h.records(h.inboundTopic)).map((r) => controlIdOf(r.value)));
    const acked = [...outcomes].filter(([, c]) => c === 'AA').map(([id]) => id);
    const naked = [...outcomes].filter(([, c]) => c === 'AE').map(([id]) => id);
    expect([...new Set(outcomes.values())].sort()).to.deep.equal(['AA', 'AE']);
    expect(acked.filter((id) => !stored.has(id)), 'ACKed but not in Kafka').to.deep.equal([]);
    expect(naked.length).to.be.greaterThan(0);
    expect(h.connector.metrics().storeFailures).to.equal(naked.length);
  });
});

import { expect } from 'chai';
import { KafkaProducer, KafkaTopicAdmin } from '../../../hub/bus/kafkaBus.ts';
import { KafkaTopicReader } from '../../../hub/bus/kafkaTopicReader.ts';
import type { ConsumedRecord } from '../../../hub/bus/messageBus.ts';
import { HubError } from '../../../hub/core/hubError.ts';
import { silentLogger } from '../../../hub/core/logger.ts';
import { KAFKA_BROKERS, uniqueName } from '../../support/testServices.ts';

describe('Kafka bus against real Kafka', function () {
  this.timeout(60_000);
  const topic = uniqueName('bus');
  const producer = new KafkaProducer({ brokers: KAFKA_BROKERS, clientId: 'bus-test', deliveryTimeoutMs: 5000, maxQueuedMessages: 1000 }, silentLogger());
  const reader = new KafkaTopicReader(KAFKA_BROKERS);

  before(async () => {
    await new KafkaTopicAdmin(KAFKA_BROKERS, silentLogger()).ensureTopics([{ name: topic, partitions: 2 }]);
  });
  after(async () => {
    await reader.close();
    await producer.close();
  });

  async function readAll(since?: number): Promise<ConsumedRecord[]> {
    const out: ConsumedRecord[] = [];
    for await (const r of reader.read(topic, since === undefined ? {} : { since })) out.push(r);
    return out;
  }

  it('resolves a publish with the position Kafka confirmed, and keeps key, headers and bytes', async () => {
    const value = Buffer.from([0x00, 0xff, 0x0b, 0x1c]);
    const pos = await producer.publish({ topic, key: 'HOSP|1', value, headers: { 'hub-a': 'x', 'hub-b': '张' } });
    expect(pos.topic).to.equal(topic);
    expect(pos.offset).to.equal(0);
    const [record] = await readAll();
    expect(record!.value.equals(value)).to.equal(true);
    expect(record!.key).to.equal('HOSP|1');
    expect(record!.headers).to.deep.equal({ 'hub-a': 'x', 'hub-b': '张' });
    expect(producer.inFlight).to.equal(0);
  });

  it('keeps records with one key in publish order on one partition', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => producer.publish({ topic, key: 'HOSP|2', value: Buffer.from(String(i)), headers: {} })));
    const mine = (await readAll()).filter((r) => r.key === 'HOSP|2');
    expect(new Set(mine.map((r) => r.partition)).size).to.equal(1);
    expect(mine.map((r) => r.value.toString())).to.deep.equal(Array.from({ length: 20 }, (_, i) => String(i)));
  });

  it('reads only records written since a time', async () => {
    const cut = Date.now() + 1;
    await new Promise((r) => setTimeout(r, 20));
    await producer.publish({ topic, key: 'late', value: Buffer.from('late'), headers: {} });
    expect((await readAll(cut)).map((r) => r.value.toString())).to.deep.equal(['late']);
  });

  it('refuses a record larger than Kafka accepts as BUS_RECORD_TOO_LARGE, not as a transient failure', async () => {
    try {
      await producer.publish({ topic, value: Buffer.alloc(2 * 1024 * 1024, 'x'), headers: {} });
      expect.fail('expected a refusal');
    } catch (err) {
      expect(err).to.be.instanceOf(HubError);
      expect((err as HubError).code).to.equal('BUS_RECORD_TOO_LARGE');
    }
  });

  it('reports an unknown topic by name', async () => {
    try {
      for await (const _ of reader.read(`${topic}-missing`)) expect.fail('nothing to read');
      expect.fail('expected a refusal');
    } catch (err) {
      expect((err as HubError).code).to.equal('BUS_TOPIC_UNKNOWN');
    }
  });

  it('fails to connect to an absent broker with BUS_UNAVAILABLE, and tries again on the next publish', async () => {
    const lost = new KafkaProducer({ brokers: '127.0.0.1:1', clientId: 'bus-test-absent', deliveryTimeoutMs: 1000, maxQueuedMessages: 10 }, silentLogger());
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        await lost.publish({ topic, value: Buffer.from('x'), headers: {} });
        expect.fail('expected a failure');
      } catch (err) {
        expect((err as HubError).code).to.equal('BUS_UNAVAILABLE');
      }
    }
    await lost.close();
  });
});

import { expect } from 'chai';
import { KafkaProducer, KafkaRecordConsumer, KafkaTopicAdmin } from '../../../hub/bus/kafkaBus.ts';
import { KafkaGroupOffsets } from '../../../hub/bus/kafkaGroupOffsets.ts';
import { HubError } from '../../../hub/core/hubError.ts';
import { silentLogger } from '../../../hub/core/logger.ts';
import { keysForTwoPartitions } from '../../support/partitionKeys.ts';
import { eventually, KAFKA_BROKERS, uniqueName } from '../../support/testServices.ts';

describe('consumer group offsets and partition ends read from outside the group, against real Kafka', function () {
  this.timeout(90_000);
  const log = silentLogger();
  const producer = new KafkaProducer({ brokers: KAFKA_BROKERS, clientId: 'offsets-test', deliveryTimeoutMs: 5000, maxQueuedMessages: 1000 }, log);
  const offsets = new KafkaGroupOffsets(KAFKA_BROKERS);
  const topic = uniqueName('offsets');
  let keys: [string, string];

  before(async () => {
    await new KafkaTopicAdmin(KAFKA_BROKERS, log).ensureTopics([{ name: topic, partitions: 2 }]);
    keys = await keysForTwoPartitions(producer, 'patient');
    for (let i = 0; i < 3; i += 1) await producer.publish({ topic, key: keys[0], value: Buffer.from(`a${i}`), headers: {} });
    await producer.publish({ topic, key: keys[1], value: Buffer.from('b0'), headers: {} });
  });
  after(async () => {
    await Promise.all([offsets.close(), producer.close()]);
  });

  it('gives the low and high watermark of every partition, and no partitions for a topic that does not exist', async () => {
    expect(await offsets.watermarks(topic)).to.deep.equal([
      { topic, partition: 0, low: 0, high: 3 },
      { topic, partition: 1, low: 0, high: 1 },
    ]);
    expect(await offsets.watermarks(`${topic}-missing`)).to.deep.equal([]);
  });

  it('gives null where a group never committed, and the committed offset once it has, without taking part in the group', async () => {
    const group = uniqueName('offsets-group');
    expect(await offsets.committedOffsets(group, [topic, `${topic}-missing`])).to.deep.equal([
      { topic, partition: 0, offset: null },
      { topic, partition: 1, offset: null },
    ]);
    const consumer = new KafkaRecordConsumer({
      brokers: KAFKA_BROKERS, groupId: group, clientId: 'offsets-test', topics: [topic], batchSize: 10,
      retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 10 },
    }, log);
    const handled: string[] = [];
    await consumer.start(async (r) => { handled.push(r.value.toString()); });
    try {
      const committed = await eventually(async () => {
        const c = await offsets.committedOffsets(group, [topic]);
        return c.every((p) => p.offset !== null) && c[0]!.offset === 3 ? c : undefined;
      }, 60_000, 'the commits');
      expect(committed).to.deep.equal([{ topic, partition: 0, offset: 3 }, { topic, partition: 1, offset: 1 }]);
      // had the reader joined the group, one of the two partitions would have gone to it
      expect(handled.sort()).to.deep.equal(['a0', 'a1', 'a2', 'b0']);
    } finally {
      await consumer.stop();
    }
  });

  it('fails with BUS_UNAVAILABLE naming the brokers when Kafka cannot be reached', async () => {
    const absent = new KafkaGroupOffsets('127.0.0.1:1');
    try {
      const refusal = await absent.watermarks(topic).then(() => undefined, (err: unknown) => err);
      expect(refusal).to.be.instanceOf(HubError).with.property('code', 'BUS_UNAVAILABLE');
      expect((refusal as HubError).message).to.include('127.0.0.1:1');
    } finally {
      await absent.close();
    }
  });
});

import { expect } from 'chai';
import { KafkaProducer, KafkaTopicAdmin } from '../../../hub/bus/kafkaBus.ts';
import { KafkaTopicReader } from '../../../hub/bus/kafkaTopicReader.ts';
import { silentLogger } from '../../../hub/core/logger.ts';
import { keysForTwoPartitions } from '../../support/partitionKeys.ts';
import { KAFKA_BROKERS, uniqueName } from '../../support/testServices.ts';

describe('reading a topic from outside any group, against real Kafka', function () {
  this.timeout(60_000);

  it('reads only the last N records of each partition when asked for the newest', async () => {
    const producer = new KafkaProducer({ brokers: KAFKA_BROKERS, clientId: 'reader-test', deliveryTimeoutMs: 5000, maxQueuedMessages: 1000 }, silentLogger());
    const reader = new KafkaTopicReader(KAFKA_BROKERS);
    try {
      const topic = uniqueName('tail');
      await new KafkaTopicAdmin(KAFKA_BROKERS, silentLogger()).ensureTopics([{ name: topic, partitions: 2 }]);
      const [key0, key1] = await keysForTwoPartitions(producer, 'tail');
      for (let i = 0; i < 5; i += 1) await producer.publish({ topic, key: key0, value: Buffer.from(`a${i}`), headers: {} });
      await producer.publish({ topic, key: key1, value: Buffer.from('b0'), headers: {} });
      const read: string[] = [];
      for await (const r of reader.read(topic, { last: 2 })) read.push(`${r.partition}:${r.offset}:${r.value.toString()}`);
      expect(read).to.deep.equal(['0:3:a3', '0:4:a4', '1:0:b0']);
    } finally {
      await Promise.all([reader.close(), producer.close()]);
    }
  });
});

import { KafkaTopicAdmin } from '../../hub/bus/kafkaBus.ts';
import type { BusProducer } from '../../hub/bus/messageBus.ts';
import { silentLogger } from '../../hub/core/logger.ts';
import { KAFKA_BROKERS, uniqueName } from './testServices.ts';

/**
 * Keys that land on partition 0 and 1 of any 2-partition topic: the partitioner hashes the key
 * against the partition count, so a probe topic of two partitions tells them.
 */
export async function keysForTwoPartitions(producer: BusProducer, prefix = 'key'): Promise<[string, string]> {
  const probe = uniqueName('partition-probe');
  await new KafkaTopicAdmin(KAFKA_BROKERS, silentLogger()).ensureTopics([{ name: probe, partitions: 2 }]);
  const found: Record<number, string> = {};
  for (let i = 0; found[0] === undefined || found[1] === undefined; i += 1) {
    const key = `${prefix}-${i}`;
    const pos = await producer.publish({ topic: probe, key, value: Buffer.from('probe'), headers: {} });
    found[pos.partition] ??= key;
  }
  return [found[0]!, found[1]!];
}

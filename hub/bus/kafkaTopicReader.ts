import { randomUUID } from 'node:crypto';
import rdkafka from 'node-rdkafka';
import type { Message, Metadata, WatermarkOffsets, TopicPartitionOffset } from 'node-rdkafka';
import { HubError } from '../core/hubError.ts';
import { headersOf } from './kafkaBus.ts';
import type { KafkaClientSecurity } from './kafkaSecurity.ts';
import type { ConsumedRecord, TopicReadOptions, TopicReader } from './messageBus.ts';

const TIMEOUT_MS = 10_000;

function call<T>(what: string, fn: (cb: (err: { message: string } | null | undefined, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    fn((err, value) => (err ? reject(new HubError('BUS_UNAVAILABLE', `${what}: ${err.message}`)) : resolve(value)));
  });
}

/**
 * Reads a topic with manual partition assignment: no group membership and no commits, so
 * listing the dead-letter topic never moves anyone's offsets.
 */
export class KafkaTopicReader implements TopicReader {
  private consumer: rdkafka.KafkaConsumer | undefined;

  /** `security`: kafkaSecurityProperties of `kafka.security` */
  constructor(private readonly brokers: string, private readonly security: KafkaClientSecurity = {}) {}

  private async connected(): Promise<rdkafka.KafkaConsumer> {
    if (this.consumer) return this.consumer;
    const consumer = new rdkafka.KafkaConsumer({
      'metadata.broker.list': this.brokers,
      // Required by librdkafka; never joined or committed because partitions are assigned by hand.
      'group.id': `hub-reader-${randomUUID()}`,
      'enable.auto.commit': false,
      'log_level': 0,
      ...this.security,
    }, { 'auto.offset.reset': 'earliest' });
    await call<undefined>(`cannot reach Kafka at ${this.brokers}`, (cb) => consumer.connect({ timeout: TIMEOUT_MS }, (err) => cb(err, undefined)));
    // Short polls: a read ends as soon as the last record arrives rather than a second later.
    consumer.setDefaultConsumeTimeout(100);
    this.consumer = consumer;
    return consumer;
  }

  async *read(topic: string, options: TopicReadOptions = {}): AsyncIterable<ConsumedRecord> {
    const consumer = await this.connected();
    const metadata = await call<Metadata>(`cannot read metadata of ${topic}`, (cb) => consumer.getMetadata({ topic, timeout: TIMEOUT_MS }, cb));
    const partitions = metadata.topics.find((t) => t.name === topic)?.partitions.map((p) => p.id) ?? [];
    if (partitions.length === 0) throw new HubError('BUS_TOPIC_UNKNOWN', `topic ${topic} does not exist`);
    for (const partition of partitions.sort((a, b) => a - b)) {
      const marks = await call<WatermarkOffsets>(`cannot read offsets of ${topic}/${partition}`, (cb) => consumer.queryWatermarkOffsets(topic, partition, TIMEOUT_MS, cb));
      let start = marks.lowOffset;
      if (options.since !== undefined) {
        const [found] = await call<TopicPartitionOffset[]>(`cannot look up ${topic}/${partition} by time`, (cb) =>
          consumer.offsetsForTimes([{ topic, partition, offset: options.since! }], TIMEOUT_MS, cb));
        // -1: no record at or after that time
        start = found && found.offset >= 0 ? found.offset : marks.highOffset;
      }
      if (options.last !== undefined) start = Math.max(start, marks.highOffset - options.last);
      if (start >= marks.highOffset) continue;
      yield* this.readPartition(consumer, topic, partition, start, marks.highOffset);
    }
  }

  private async *readPartition(consumer: rdkafka.KafkaConsumer, topic: string, partition: number, start: number, end: number): AsyncIterable<ConsumedRecord> {
    consumer.assign([{ topic, partition, offset: start }]);
    try {
      let next = start;
      let idle = 0;
      while (next < end) {
        const batch = await call<Message[]>(`cannot read ${topic}/${partition}`, (cb) => consumer.consume(500, cb));
        if (batch.length === 0) {
          // Compacted or aborted offsets can leave the end unreachable; give up after a quiet spell.
          idle += 1;
          if (idle > 100) return;
          continue;
        }
        idle = 0;
        for (const m of batch) {
          if (m.offset >= end) return;
          next = m.offset + 1;
          yield {
            topic: m.topic, partition: m.partition, offset: m.offset,
            value: m.value ?? Buffer.alloc(0), headers: headersOf(m),
            ...(m.key !== undefined && m.key !== null ? { key: m.key.toString() } : {}),
            ...(m.timestamp !== undefined ? { timestamp: m.timestamp } : {}),
          };
        }
      }
    } finally {
      consumer.unassign();
    }
  }

  async close(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    if (consumer) await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}

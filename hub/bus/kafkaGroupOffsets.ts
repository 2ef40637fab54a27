import { randomUUID } from 'node:crypto';
import rdkafka from 'node-rdkafka';
import type { Metadata, TopicPartitionOffset, WatermarkOffsets } from 'node-rdkafka';
import { HubError } from '../core/hubError.ts';
import type { KafkaClientSecurity } from './kafkaSecurity.ts';
import type { CommittedOffset, GroupOffsetReader, PartitionWatermarks } from './messageBus.ts';

const TIMEOUT_MS = 10_000;

function call<T>(what: string, fn: (cb: (err: { message: string } | null | undefined, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    fn((err, value) => (err ? reject(new HubError('BUS_UNAVAILABLE', `${what}: ${err.message}`)) : resolve(value)));
  });
}

/**
 * Committed offsets and partition ends, read with consumers that are never subscribed: a
 * consumer carrying the inspected group's id asks the group coordinator for its offsets
 * (OffsetFetch needs no membership), so looking never joins, rebalances or commits for the
 * group. Partition ends are read by a consumer of a throwaway group of its own.
 */
export class KafkaGroupOffsets implements GroupOffsetReader {
  private readonly consumers = new Map<string, Promise<rdkafka.KafkaConsumer>>();
  private readonly ownGroup = `hub-status-${randomUUID()}`;

  /** `security`: kafkaSecurityProperties of `kafka.security` */
  constructor(private readonly brokers: string, private readonly security: KafkaClientSecurity = {}) {}

  private consumerOf(group: string): Promise<rdkafka.KafkaConsumer> {
    let connected = this.consumers.get(group);
    if (!connected) {
      const consumer = new rdkafka.KafkaConsumer({
        'metadata.broker.list': this.brokers,
        'group.id': group,
        'enable.auto.commit': false,
        'log_level': 0,
        ...this.security,
      }, {});
      connected = call<undefined>(`cannot reach Kafka at ${this.brokers}`, (cb) => consumer.connect({ timeout: TIMEOUT_MS }, (err) => cb(err, undefined)))
        .then(() => consumer);
      // a failed connection is not kept: the next call (a --watch refresh) tries again
      connected.catch(() => this.consumers.delete(group));
      this.consumers.set(group, connected);
    }
    return connected;
  }

  private async partitionsOf(consumer: rdkafka.KafkaConsumer, topic: string): Promise<number[]> {
    const metadata = await call<Metadata>(`cannot read metadata of ${topic}`, (cb) => consumer.getMetadata({ topic, timeout: TIMEOUT_MS }, cb));
    return (metadata.topics.find((t) => t.name === topic)?.partitions.map((p) => p.id) ?? []).sort((a, b) => a - b);
  }

  async watermarks(topic: string): Promise<PartitionWatermarks[]> {
    const consumer = await this.consumerOf(this.ownGroup);
    const partitions = await this.partitionsOf(consumer, topic);
    return Promise.all(partitions.map(async (partition) => {
      const marks = await call<WatermarkOffsets>(`cannot read offsets of ${topic}/${partition}`, (cb) => consumer.queryWatermarkOffsets(topic, partition, TIMEOUT_MS, cb));
      return { topic, partition, low: marks.lowOffset, high: marks.highOffset };
    }));
  }

  async committedOffsets(group: string, topics: string[]): Promise<CommittedOffset[]> {
    const consumer = await this.consumerOf(group);
    const toppars = (await Promise.all(topics.map(async (topic) => (await this.partitionsOf(consumer, topic)).map((partition) => ({ topic, partition }))))).flat();
    if (toppars.length === 0) return [];
    const found = await call<TopicPartitionOffset[]>(`cannot read the committed offsets of group ${group}`, (cb) => consumer.committed(toppars, TIMEOUT_MS, cb));
    // librdkafka answers a logical offset (-1001, "invalid") where the group never committed
    return found.map((f) => ({ topic: f.topic, partition: f.partition, offset: f.offset >= 0 ? f.offset : null }));
  }

  async close(): Promise<void> {
    const consumers = [...this.consumers.values()];
    this.consumers.clear();
    await Promise.all(consumers.map(async (connected) => {
      const consumer = await connected.catch(() => undefined);
      if (consumer) await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
    }));
  }
}

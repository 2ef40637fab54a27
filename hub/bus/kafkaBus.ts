import rdkafka from 'node-rdkafka';
import type { LibrdKafkaError, Message, MessageHeader, TopicPartition } from 'node-rdkafka';
import { HubError } from '../core/hubError.ts';
import type { KafkaClientSecurity } from './kafkaSecurity.ts';
import type { Logger } from '../core/logger.ts';
import { ConsumerProgress, type ProgressSettings } from './consumerProgress.ts';
import type {
  BatchHandler, BusConsumer, BusHeaders, BusProducer, ConsumedRecord, OutgoingRecord, RecordHandler, RecordPosition,
  TopicAdmin, TopicSpec,
} from './messageBus.ts';
import { PartitionLane, type RetryPolicy } from './partitionLane.ts';

export interface KafkaSettings {
  brokers: string;
  clientId: string;
  /** how long the client keeps retrying a record before failing its publish */
  deliveryTimeoutMs: number;
  /** bound on records queued in the client; beyond it publish fails fast (back-pressure) */
  maxQueuedMessages: number;
  /** bound on bytes queued in the client (default 256 MiB), the other half of back-pressure */
  maxQueuedKbytes?: number;
  /** TLS/SASL properties from kafka.security (kafkaSecurity.ts) */
  security?: KafkaClientSecurity;
}

interface Pending {
  resolve: (pos: RecordPosition) => void;
  reject: (err: Error) => void;
}

export class KafkaProducer implements BusProducer {
  private readonly producer: rdkafka.Producer;
  private readonly pending = new Map<number, Pending>();
  private nextOpaque = 1;
  private connected: Promise<void> | undefined;

  constructor(private readonly settings: KafkaSettings, private readonly log: Logger) {
    this.producer = new rdkafka.Producer({
      'metadata.broker.list': settings.brokers,
      'client.id': settings.clientId,
      'dr_cb': true,
      // Idempotence implies acks=all: a delivery report means every in-sync replica has the record.
      'enable.idempotence': true,
      'queue.buffering.max.messages': settings.maxQueuedMessages,
      // librdkafka's default (1 GiB) would let a stalled broker grow the process far too much.
      'queue.buffering.max.kbytes': settings.maxQueuedKbytes ?? 256 * 1024,
      'linger.ms': 2,
      'socket.keepalive.enable': true,
      'log_level': 3,
      ...settings.security,
    }, { 'request.required.acks': -1, 'message.timeout.ms': settings.deliveryTimeoutMs });
    this.producer.on('delivery-report', (err: LibrdKafkaError, report) => {
      const entry = this.pending.get(report.opaque as number);
      if (!entry) return;
      this.pending.delete(report.opaque as number);
      if (err) {
        const tooLarge = err.code === rdkafka.CODES.ERRORS.ERR_MSG_SIZE_TOO_LARGE;
        entry.reject(new HubError(tooLarge ? 'BUS_RECORD_TOO_LARGE' : 'BUS_PUBLISH_FAILED',
          tooLarge ? `the broker refused the record as too large (message.max.bytes): ${err.message}` : `Kafka did not confirm the write: ${err.message}`,
          { kafkaCode: err.code }));
      }
      else entry.resolve({ topic: report.topic, partition: report.partition, offset: report.offset });
    });
    this.producer.on('event.error', (err) => this.log.warn({ err: err.message }, 'kafka producer error'));
    // Delivery reports arrive only when polled. A slow idle poll keeps error events flowing; while
    // records wait for confirmation a 1 ms poll keeps the ACK latency of a one-at-a-time HL7
    // sender near the broker's own (10 ms polling capped such a sender at ~100 msg/s).
    this.producer.setPollInterval(100);
  }

  private fastPoll: NodeJS.Timeout | undefined;

  private pollWhilePending(): void {
    if (this.fastPoll || this.pending.size === 0) return;
    this.fastPoll = setInterval(() => {
      if (this.pending.size === 0) {
        clearInterval(this.fastPoll);
        this.fastPoll = undefined;
        return;
      }
      try { this.producer.poll(); } catch { /* disconnected: close() rejects what is pending */ }
    }, 1);
    this.fastPoll.unref();
  }

  get inFlight(): number {
    return this.pending.size;
  }

  connect(): Promise<void> {
    this.connected ??= new Promise<void>((resolve, reject) => {
      this.producer.connect({ timeout: 10_000 }, (err) =>
        err ? reject(new HubError('BUS_UNAVAILABLE', `cannot reach Kafka at ${this.settings.brokers}: ${err.message}`)) : resolve());
    }).catch((err: unknown) => {
      // Not cached: the next publish tries again, so a hub started before Kafka recovers by itself.
      this.connected = undefined;
      throw err;
    });
    return this.connected;
  }

  async publish(record: OutgoingRecord): Promise<RecordPosition> {
    await this.connect();
    const opaque = this.nextOpaque++;
    const headers: MessageHeader[] = Object.entries(record.headers).map(([k, v]) => ({ [k]: v }));
    return new Promise<RecordPosition>((resolve, reject) => {
      this.pending.set(opaque, { resolve, reject });
      try {
        this.producer.produce(record.topic, null, record.value, record.key ?? null, Date.now(), opaque, headers);
        this.pollWhilePending();
      } catch (err) {
        this.pending.delete(opaque);
        reject(produceError(err as LibrdKafkaError, record.value.length));
      }
    });
  }

  async close(): Promise<void> {
    if (!this.connected) return;
    this.connected = undefined;
    await new Promise<void>((resolve) => this.producer.flush(5000, () => resolve()));
    await new Promise<void>((resolve) => this.producer.disconnect(() => resolve()));
    for (const entry of this.pending.values()) entry.reject(new HubError('BUS_CLOSED', 'producer closed before Kafka confirmed'));
    this.pending.clear();
  }
}

/** Failures of produce() itself: a full client queue is transient, a record too large is not. */
function produceError(e: LibrdKafkaError, bytes: number): HubError {
  if (e.code === rdkafka.CODES.ERRORS.ERR__QUEUE_FULL) {
    return new HubError('BUS_BACKPRESSURE', 'Kafka client queue is full; the broker is slow or down', { kafkaCode: e.code });
  }
  if (e.code === rdkafka.CODES.ERRORS.ERR_MSG_SIZE_TOO_LARGE) {
    return new HubError('BUS_RECORD_TOO_LARGE', `a ${bytes}-byte record is larger than Kafka accepts (message.max.bytes)`, { kafkaCode: e.code });
  }
  return new HubError('BUS_PUBLISH_FAILED', `Kafka produce failed: ${e.message}`, { kafkaCode: e.code });
}

export interface KafkaConsumerSettings {
  brokers: string;
  /** TLS/SASL properties from kafka.security (kafkaSecurity.ts) */
  security?: KafkaClientSecurity;
  groupId: string;
  topics: string[];
  clientId: string;
  /** records fetched per poll; also how many records one partition may hold in memory before its fetching pauses */
  batchSize: number;
  retry: RetryPolicy;
  /** at most this many waiting records of a partition go to the batch handler at once (default batchSize) */
  maxBatchRecords?: number;
  /** when catching up is logged (consumerProgress.ts: 1000 records behind, a line per 10 s) */
  progress?: Partial<ProgressSettings>;
}

export function headersOf(message: Message): BusHeaders {
  const out: BusHeaders = {};
  for (const h of message.headers ?? []) {
    for (const [k, v] of Object.entries(h)) out[k] = Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
  }
  return out;
}

function recordOf(message: Message): ConsumedRecord {
  return {
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    value: message.value ?? Buffer.alloc(0),
    headers: headersOf(message),
    ...(message.key !== undefined && message.key !== null ? { key: message.key.toString() } : {}),
    ...(message.timestamp !== undefined ? { timestamp: message.timestamp } : {}),
  };
}

const partitionKey = (p: TopicPartition): string => `${p.topic}/${p.partition}`;

/**
 * At-least-once consumer: a record's offset is committed only after its handler succeeded.
 * Each assigned partition has its own lane (partitionLane.ts): records of a partition are
 * handled in order, partitions side by side, and a record being retried with back-off holds
 * only its partition. One loop fetches for all lanes; a partition with `batchSize` records
 * waiting is paused at the broker until its lane has worked half of them off, so memory stays
 * bounded. Records that are bad in themselves must be dead-lettered by the handler, not
 * thrown; on the last attempt (`retry.maxAttempts`) the handler is told to settle the record.
 */
export class KafkaRecordConsumer implements BusConsumer {
  private readonly consumer: rdkafka.KafkaConsumer;
  private running = false;
  private loop: Promise<void> | undefined;
  private handler: RecordHandler | undefined;
  private batchHandler: BatchHandler | undefined;
  /** partitions the group gave us; records of others (fetched before a revoke) are left to their new owner */
  private readonly assigned = new Set<string>();
  private readonly lanes = new Map<string, PartitionLane>();
  /** lanes of revoked partitions still finishing a record; a new lane of the partition waits for it */
  private readonly retiring = new Map<string, Promise<void>>();
  private readonly paused = new Set<string>();
  private readonly progress: ConsumerProgress;

  constructor(private readonly settings: KafkaConsumerSettings, private readonly log: Logger) {
    this.progress = new ConsumerProgress(log, settings.progress);
    this.consumer = new rdkafka.KafkaConsumer({
      'metadata.broker.list': settings.brokers,
      'group.id': settings.groupId,
      'client.id': settings.clientId,
      'enable.auto.commit': false,
      'socket.keepalive.enable': true,
      // node-rdkafka assigns and unassigns itself, after telling us through the 'rebalance' event
      'rebalance_cb': true,
      'log_level': 3,
      ...settings.security,
    }, { 'auto.offset.reset': 'earliest' });
    this.consumer.on('event.error', (err) => this.log.warn({ err: err.message }, 'kafka consumer error'));
    this.consumer.on('rebalance', (err, partitions) => this.rebalanced(err, partitions));
  }

  async start(handler: RecordHandler, batch?: BatchHandler): Promise<void> {
    this.handler = handler;
    this.batchHandler = batch;
    await new Promise<void>((resolve, reject) => {
      this.consumer.connect({ timeout: 10_000 }, (err) =>
        err ? reject(new HubError('BUS_UNAVAILABLE', `cannot reach Kafka at ${this.settings.brokers}: ${err.message}`)) : resolve());
    });
    this.consumer.subscribe(this.settings.topics);
    this.running = true;
    this.loop = this.run();
  }

  /** records fetched and not yet settled, per `topic/partition` this consumer holds now */
  backlogByPartition(): Record<string, number> {
    return Object.fromEntries([...this.lanes].map(([key, lane]) => [key, lane.backlog]));
  }

  private rebalanced(err: LibrdKafkaError, partitions: TopicPartition[]): void {
    if (err.code === rdkafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS) {
      for (const p of partitions) this.assigned.add(partitionKey(p));
    } else if (err.code === rdkafka.CODES.ERRORS.ERR__REVOKE_PARTITIONS) {
      for (const p of partitions) this.revoke(p);
    }
    this.log.info({ code: err.code, partitions: partitions.map(partitionKey) }, err.code === rdkafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS ? 'kafka partitions assigned' : 'kafka partitions revoked');
  }

  /** Its lane stops and nothing more is committed for it: the partition's next owner starts from the last commit. */
  private revoke(p: TopicPartition): void {
    const key = partitionKey(p);
    this.assigned.delete(key);
    this.progress.forget(p);
    // librdkafka keeps an application pause across assignments: lift it while the partition is still ours
    if (this.paused.delete(key)) this.setFetching(p, true);
    const lane = this.lanes.get(key);
    if (!lane) return;
    this.lanes.delete(key);
    const stopped = lane.stop();
    this.retiring.set(key, stopped);
    void stopped.then(() => {
      if (this.retiring.get(key) === stopped) this.retiring.delete(key);
    });
  }

  private fetch(): Promise<Message[]> {
    return new Promise((resolve, reject) => {
      this.consumer.consume(this.settings.batchSize, (err, messages) => (err ? reject(err) : resolve(messages)));
    });
  }

  private async run(): Promise<void> {
    while (this.running) {
      let messages: Message[];
      try {
        messages = await this.fetch();
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'kafka consume failed; retrying');
        await sleep(1000);
        continue;
      }
      if (this.running) this.dispatch(messages);
    }
  }

  private dispatch(messages: Message[]): void {
    for (const message of messages) {
      const key = partitionKey(message);
      if (!this.assigned.has(key)) continue;
      const lane = this.laneFor(key);
      lane.push(recordOf(message));
      if (lane.backlog >= this.settings.batchSize && !this.paused.has(key)) {
        this.paused.add(key);
        this.setFetching(message, false);
      }
    }
  }

  private laneFor(key: string): PartitionLane {
    const existing = this.lanes.get(key);
    if (existing) return existing;
    const lane: PartitionLane = new PartitionLane(this.handler!, this.settings.retry, {
      done: (record, backlog, count) => this.settled(lane, record, backlog, count),
      failed: (record, attempt, err, retryInMs) => this.log.error({
        err: (err as Error).message, topic: record.topic, partition: record.partition, offset: record.offset, attempt, retryInMs,
      }, 'record handler failed; will retry'),
      batchFailed: (records, err) => this.log.warn({
        err: (err as Error).message, topic: records[0]!.topic, partition: records[0]!.partition, from: records[0]!.offset, records: records.length,
      }, 'batch failed; handling its records one by one'),
    }, this.retiring.get(key), this.batchHandler ? { handler: this.batchHandler, maxRecords: this.settings.maxBatchRecords ?? this.settings.batchSize } : undefined);
    this.lanes.set(key, lane);
    return lane;
  }

  private settled(lane: PartitionLane, record: ConsumedRecord, backlog: number, count: number): void {
    const key = partitionKey(record);
    if (this.lanes.get(key) !== lane) return; // revoked meanwhile: not ours to commit
    try {
      this.consumer.commit({ topic: record.topic, partition: record.partition, offset: record.offset + 1 });
    } catch (err) {
      // the next commit of this partition covers this one; a restart may see the record again
      this.log.warn({ err: (err as Error).message, topic: record.topic, partition: record.partition, offset: record.offset }, 'kafka commit failed');
    }
    this.progress.settled(record, count, backlog, this.knownEnd(record));
    if (this.paused.has(key) && backlog <= Math.floor(this.settings.batchSize / 2)) {
      this.paused.delete(key);
      this.setFetching(record, true);
    }
  }

  /** the partition's high watermark as of the last fetch response (librdkafka's cache, no broker round trip) */
  private knownEnd(p: TopicPartition): number | undefined {
    try {
      const high = this.consumer.getWatermarkOffsets(p.topic, p.partition).highOffset;
      return high >= 0 ? high : undefined;
    } catch {
      return undefined;
    }
  }

  private setFetching(p: TopicPartition, on: boolean): void {
    const tp = [{ topic: p.topic, partition: p.partition }];
    try {
      if (on) this.consumer.resume(tp);
      else this.consumer.pause(tp);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, partition: partitionKey(p) }, on ? 'kafka resume failed' : 'kafka pause failed');
    }
  }

  /** Stops fetching, lets each lane finish the record in hand (committing it), then leaves the group. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.loop;
    await Promise.all([...this.lanes.values()].map((lane) => lane.stop()));
    await Promise.all(this.retiring.values());
    this.lanes.clear();
    // leaving the group revokes everything; nothing is left to resume or hand over
    this.paused.clear();
    this.assigned.clear();
    await new Promise<void>((resolve) => this.consumer.disconnect(() => resolve()));
  }
}

export class KafkaTopicAdmin implements TopicAdmin {
  constructor(private readonly brokers: string, private readonly log: Logger, private readonly security: KafkaClientSecurity = {}) {}

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    const admin = rdkafka.AdminClient.create({ 'metadata.broker.list': this.brokers, 'client.id': 'hub-admin', ...this.security });
    try {
      for (const t of topics) {
        await new Promise<void>((resolve, reject) => {
          admin.createTopic({ topic: t.name, num_partitions: t.partitions, replication_factor: -1 }, 10_000, (err) => {
            if (!err || err.code === rdkafka.CODES.ERRORS.ERR_TOPIC_ALREADY_EXISTS) resolve();
            else reject(new HubError('BUS_TOPIC_CREATE_FAILED', `cannot create topic ${t.name}: ${err.message}`));
          });
        });
        this.log.debug({ topic: t.name }, 'topic ready');
      }
    } finally {
      admin.disconnect();
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

import rdkafka from 'node-rdkafka';
import type { LibrdKafkaError, Message, MessageHeader } from 'node-rdkafka';
import { HubError } from '../core/hubError.ts';
import type { KafkaClientSecurity } from './kafkaSecurity.ts';
import type { Logger } from '../core/logger.ts';
import type {
  BusConsumer, BusHeaders, BusProducer, ConsumedRecord, OutgoingRecord, RecordHandler, RecordPosition,
  TopicAdmin, TopicSpec,
} from './messageBus.ts';

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
  /** records fetched per poll */
  batchSize: number;
}

export function headersOf(message: Message): BusHeaders {
  const out: BusHeaders = {};
  for (const h of message.headers ?? []) {
    for (const [k, v] of Object.entries(h)) out[k] = Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
  }
  return out;
}

/**
 * At-least-once consumer: a record's offset is committed only after its handler succeeded.
 * A handler that throws is retried with back-off (the store or a dependency is down); records
 * that are bad in themselves must be dead-lettered by the handler, not thrown.
 */
export class KafkaRecordConsumer implements BusConsumer {
  private readonly consumer: rdkafka.KafkaConsumer;
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(private readonly settings: KafkaConsumerSettings, private readonly log: Logger) {
    this.consumer = new rdkafka.KafkaConsumer({
      'metadata.broker.list': settings.brokers,
      'group.id': settings.groupId,
      'client.id': settings.clientId,
      'enable.auto.commit': false,
      'socket.keepalive.enable': true,
      'log_level': 3,
      ...settings.security,
    }, { 'auto.offset.reset': 'earliest' });
    this.consumer.on('event.error', (err) => this.log.warn({ err: err.message }, 'kafka consumer error'));
  }

  async start(handler: RecordHandler): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.consumer.connect({ timeout: 10_000 }, (err) =>
        err ? reject(new HubError('BUS_UNAVAILABLE', `cannot reach Kafka at ${this.settings.brokers}: ${err.message}`)) : resolve());
    });
    this.consumer.subscribe(this.settings.topics);
    this.running = true;
    this.loop = this.run(handler);
  }

  private fetch(): Promise<Message[]> {
    return new Promise((resolve, reject) => {
      this.consumer.consume(this.settings.batchSize, (err, messages) => (err ? reject(err) : resolve(messages)));
    });
  }

  private async run(handler: RecordHandler): Promise<void> {
    while (this.running) {
      let messages: Message[];
      try {
        messages = await this.fetch();
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'kafka consume failed; retrying');
        await sleep(1000);
        continue;
      }
      for (const message of messages) {
        if (!this.running) return;
        const record: ConsumedRecord = {
          topic: message.topic,
          partition: message.partition,
          offset: message.offset,
          value: message.value ?? Buffer.alloc(0),
          headers: headersOf(message),
          ...(message.key !== undefined && message.key !== null ? { key: message.key.toString() } : {}),
          ...(message.timestamp !== undefined ? { timestamp: message.timestamp } : {}),
        };
        if (!(await this.handleWithRetry(handler, record))) return;
        this.consumer.commitMessage(message);
      }
    }
  }

  private async handleWithRetry(handler: RecordHandler, record: ConsumedRecord): Promise<boolean> {
    let delay = 200;
    while (this.running) {
      try {
        await handler(record);
        return true;
      } catch (err) {
        this.log.error({ err: (err as Error).message, topic: record.topic, partition: record.partition, offset: record.offset },
          'record handler failed; will retry');
        await sleep(delay);
        delay = Math.min(delay * 2, 30_000);
      }
    }
    return false;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.loop;
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

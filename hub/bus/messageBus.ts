/**
 * The narrow interface the hub uses for its durable log. Production runs it on Kafka
 * (kafkaBus.ts); nothing outside hub/bus imports node-rdkafka.
 */
export type BusHeaders = Record<string, string>;

export interface OutgoingRecord {
  topic: string;
  /** partitioning key: records with the same key keep their order (we use the patient identifier) */
  key?: string;
  value: Buffer;
  headers: BusHeaders;
}

export interface RecordPosition {
  topic: string;
  partition: number;
  offset: number;
}

export interface ConsumedRecord extends RecordPosition {
  key?: string;
  value: Buffer;
  headers: BusHeaders;
  /** broker timestamp, epoch millis */
  timestamp?: number;
}

export interface BusProducer {
  /** Resolves only once the broker has durably acknowledged the record (acks=all). */
  publish(record: OutgoingRecord): Promise<RecordPosition>;
  /** records handed to the client and not yet acknowledged or failed */
  readonly inFlight: number;
  close(): Promise<void>;
}

/** Which attempt at a record this is; the consumer counts, the handler decides what giving up means. */
export interface DeliveryAttempt {
  /** 1 for the first delivery */
  attempt: number;
  /**
   * the attempt limit is reached: the handler must settle the record now (dead-letter it)
   * instead of throwing; if it still throws (the dead-letter topic is down too) it is retried
   */
  final: boolean;
}

/** Handles one record; throwing means "retry later" (the record is not committed). */
export type RecordHandler = (record: ConsumedRecord, delivery: DeliveryAttempt) => Promise<void>;

/**
 * Handles several consecutive records of one partition at once (fewer, larger store writes).
 * It either settles them all or throws, and then each is handled again on its own by the
 * RecordHandler, so one bad record never holds the others: handling must be idempotent.
 */
export type BatchHandler = (records: ConsumedRecord[]) => Promise<void>;

export interface BusConsumer {
  start(handler: RecordHandler, batch?: BatchHandler): Promise<void>;
  stop(): Promise<void>;
}

export interface TopicReadOptions {
  /** only records written at or after this time (epoch millis) */
  since?: number;
  /** only the last this many records of each partition (the newest, without reading the rest) */
  last?: number;
}

/**
 * Reads a topic from outside any consumer group (nothing is committed): every record present
 * when the read starts, partition by partition. The dead-letter tools use it.
 */
export interface TopicReader {
  read(topic: string, options?: TopicReadOptions): AsyncIterable<ConsumedRecord>;
  close(): Promise<void>;
}

export interface TopicSpec {
  name: string;
  partitions: number;
}

export interface TopicAdmin {
  ensureTopics(topics: TopicSpec[]): Promise<void>;
}

/** The ends of a partition: the oldest record still kept (`low`) and the offset the next record gets (`high`). */
export interface PartitionWatermarks {
  topic: string;
  partition: number;
  low: number;
  high: number;
}

/** Where a consumer group resumes in a partition; `offset` null: the group never committed there. */
export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: number | null;
}

/**
 * Reads consumer groups' committed offsets and partition ends from outside: it never joins a
 * group or commits, so watching the pipeline cannot move or rebalance it (`hub status`).
 */
export interface GroupOffsetReader {
  /** every partition of the topic with its ends; [] when the topic does not exist */
  watermarks(topic: string): Promise<PartitionWatermarks[]>;
  /** the group's committed offset in every partition of the topics (those that exist) */
  committedOffsets(group: string, topics: string[]): Promise<CommittedOffset[]>;
  close(): Promise<void>;
}

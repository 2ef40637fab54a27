import type { BusProducer, ConsumedRecord, OutgoingRecord, TopicReader } from '../bus/messageBus.ts';
import { HubError } from '../core/hubError.ts';
import { ENVELOPE_HEADERS } from '../core/inboundEnvelope.ts';
import { outcomeFromError } from '../core/operationOutcome.ts';

/** Headers a dead-lettered record carries besides the original ones. */
export const DLQ_HEADERS = {
  code: 'hub-dlq-code',
  reason: 'hub-dlq-reason',
  stage: 'hub-dlq-stage',
  outcome: 'hub-dlq-outcome',
  originalTopic: 'hub-dlq-original-topic',
  originalPartition: 'hub-dlq-original-partition',
  originalOffset: 'hub-dlq-original-offset',
  failedAt: 'hub-dlq-failed-at',
  /** set when the value is only the head of a message too large to keep whole */
  truncated: 'hub-dlq-truncated',
  /** how many times the pipeline tried the record before it gave up (absent: refused at intake) */
  attempts: 'hub-dlq-attempts',
  /** `CODE: message` of the failure that ended the last attempt, when attempts ran out */
  lastError: 'hub-dlq-last-error',
} as const;

/** Headers a replayed record carries, so the pipeline and people can tell it was replayed. */
export const REPLAY_HEADERS = {
  /** `topic/partition/offset` of the dead-letter record it came from */
  replayOf: 'hub-replay-of',
  replayedAt: 'hub-replayed-at',
} as const;

/** `intake`: refused by a connector before it reached the inbound topic. */
export type PipelineStage = 'decode' | 'parse' | 'map' | 'validate' | 'store' | 'ingest' | 'intake';

export type DeadLetterSource = Pick<ConsumedRecord, 'topic' | 'partition' | 'offset' | 'value' | 'headers' | 'key'>;

/**
 * Nothing is dropped: a record that cannot be processed goes to the dead-letter topic with its
 * original bytes and headers, the reason, and an OperationOutcome naming the path, so it can be
 * replayed to its original topic once the mapping or the data is fixed.
 */
export class DeadLetterPublisher {
  constructor(private readonly producer: BusProducer, private readonly topic: string) {}

  async send(record: DeadLetterSource, error: HubError, stage: PipelineStage, extra: Record<string, string> = {}): Promise<void> {
    const original = Object.fromEntries(Object.entries(record.headers).filter(([k]) => !k.startsWith('hub-dlq-')));
    const headers: Record<string, string> = {
      ...original,
      ...extra,
      [DLQ_HEADERS.code]: error.code,
      [DLQ_HEADERS.reason]: error.message.slice(0, 2000),
      [DLQ_HEADERS.stage]: stage,
      [DLQ_HEADERS.outcome]: JSON.stringify(outcomeFromError(error)).slice(0, 8000),
      [DLQ_HEADERS.originalTopic]: record.topic,
      [DLQ_HEADERS.originalPartition]: String(record.partition),
      [DLQ_HEADERS.originalOffset]: String(record.offset),
      [DLQ_HEADERS.failedAt]: new Date().toISOString(),
    };
    await this.producer.publish({ topic: this.topic, value: record.value, headers, ...(record.key ? { key: record.key } : {}) });
  }
}

/** One dead-letter record as the operator sees it. */
export interface DeadLetterEntry {
  /** where it sits in the dead-letter topic */
  topic: string;
  partition: number;
  offset: number;
  code: string;
  reason: string;
  stage: string;
  originalTopic: string;
  /** -1 when the record never reached its topic (refused at intake) */
  originalPartition: number;
  originalOffset: number;
  failedAt: string;
  controlId?: string;
  messageType?: string;
  connectorId?: string;
  sourceSystem?: string;
  /** the dead-letter record it was itself replayed from, if any */
  replayOf?: string;
  /** attempts the pipeline made (absent when refused at intake) */
  attempts?: number;
  lastError?: string;
  truncated: boolean;
  bytes: number;
  record: ConsumedRecord;
}

export function deadLetterEntryOf(record: ConsumedRecord): DeadLetterEntry {
  const h = record.headers;
  const num = (v: string | undefined) => (v === undefined || v === '' ? -1 : Number(v));
  const opt = <K extends string>(key: K, v: string | undefined): Partial<Record<K, string>> => (v ? { [key]: v } as Record<K, string> : {});
  return {
    topic: record.topic, partition: record.partition, offset: record.offset,
    code: h[DLQ_HEADERS.code] ?? 'UNKNOWN',
    reason: h[DLQ_HEADERS.reason] ?? '',
    stage: h[DLQ_HEADERS.stage] ?? '',
    originalTopic: h[DLQ_HEADERS.originalTopic] ?? '',
    originalPartition: num(h[DLQ_HEADERS.originalPartition]),
    originalOffset: num(h[DLQ_HEADERS.originalOffset]),
    failedAt: h[DLQ_HEADERS.failedAt] ?? (record.timestamp ? new Date(record.timestamp).toISOString() : ''),
    ...opt('controlId', h[ENVELOPE_HEADERS.controlId]),
    ...opt('messageType', h[ENVELOPE_HEADERS.messageType]),
    ...opt('connectorId', h[ENVELOPE_HEADERS.connectorId]),
    ...opt('sourceSystem', h[ENVELOPE_HEADERS.sourceSystem]),
    ...opt('replayOf', h[REPLAY_HEADERS.replayOf]),
    ...(h[DLQ_HEADERS.attempts] ? { attempts: Number(h[DLQ_HEADERS.attempts]) } : {}),
    ...opt('lastError', h[DLQ_HEADERS.lastError]),
    truncated: h[DLQ_HEADERS.truncated] === 'true',
    bytes: record.value.length,
    record,
  };
}

export interface DeadLetterFilter {
  /** exact hub error code */
  code?: string;
  stage?: string;
  connectorId?: string;
  /** failed at or after (epoch millis) */
  since?: number;
  /** one record: `partition:offset` in the dead-letter topic */
  position?: string;
}

export function matchesDeadLetterFilter(entry: DeadLetterEntry, filter: DeadLetterFilter): boolean {
  if (filter.code && entry.code !== filter.code) return false;
  if (filter.stage && entry.stage !== filter.stage) return false;
  if (filter.connectorId && entry.connectorId !== filter.connectorId) return false;
  if (filter.since !== undefined && Date.parse(entry.failedAt) < filter.since) return false;
  if (filter.position && filter.position !== `${entry.partition}:${entry.offset}`) return false;
  return true;
}

/**
 * The record to publish for a replay: original topic, key, value and headers (the dead-letter
 * headers removed), marked with where it was replayed from.
 */
export function replayRecordOf(entry: DeadLetterEntry, now = new Date()): OutgoingRecord {
  if (!entry.originalTopic) {
    throw new HubError('DLQ_REPLAY_NO_TOPIC', `dead-letter record ${entry.partition}:${entry.offset} does not name its original topic`);
  }
  if (entry.truncated) {
    throw new HubError('DLQ_REPLAY_TRUNCATED', `dead-letter record ${entry.partition}:${entry.offset} holds only the head of a message that was too large; ask the sender to resend it`);
  }
  const headers = Object.fromEntries(Object.entries(entry.record.headers).filter(([k]) => !k.startsWith('hub-dlq-')));
  headers[REPLAY_HEADERS.replayOf] = `${entry.topic}/${entry.partition}/${entry.offset}`;
  headers[REPLAY_HEADERS.replayedAt] = now.toISOString();
  return { topic: entry.originalTopic, value: entry.record.value, headers, ...(entry.record.key ? { key: entry.record.key } : {}) };
}

/** Streams the dead-letter entries that match a filter. */
export async function* deadLetterEntries(reader: TopicReader, topic: string, filter: DeadLetterFilter = {}): AsyncIterable<DeadLetterEntry> {
  for await (const record of reader.read(topic, filter.since !== undefined ? { since: filter.since } : {})) {
    const entry = deadLetterEntryOf(record);
    if (matchesDeadLetterFilter(entry, filter)) yield entry;
  }
}

export interface ReplayReport {
  replayed: number;
  skipped: Array<{ position: string; reason: string }>;
}

/**
 * Republishes matching dead-letter records to their original topics. Each publish waits for
 * Kafka's confirmation; downstream processing is idempotent, so replaying twice is harmless.
 */
export async function replayDeadLetters(
  reader: TopicReader, producer: BusProducer, topic: string, filter: DeadLetterFilter,
  onProgress: (entry: DeadLetterEntry, done: number) => void = () => undefined,
): Promise<ReplayReport> {
  const report: ReplayReport = { replayed: 0, skipped: [] };
  for await (const entry of deadLetterEntries(reader, topic, filter)) {
    let record: OutgoingRecord;
    try {
      record = replayRecordOf(entry);
    } catch (err) {
      report.skipped.push({ position: `${entry.partition}:${entry.offset}`, reason: (err as Error).message });
      continue;
    }
    await producer.publish(record);
    report.replayed += 1;
    onProgress(entry, report.replayed);
  }
  return report;
}

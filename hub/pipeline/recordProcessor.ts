import { createHash } from 'node:crypto';
import type { BatchHandler, ConsumedRecord, DeliveryAttempt, RecordHandler } from '../bus/messageBus.ts';
import { deterministicId } from '../core/deterministicId.ts';
import { HubError, toHubError } from '../core/hubError.ts';
import { CONTENT_TYPES, envelopeFromRecord, type InboundEnvelope } from '../core/inboundEnvelope.ts';
import type { Logger } from '../core/logger.ts';
import type { SourceMessageLog, SourceMessageRecord } from '../store/sourceMessageLog.ts';
import { storeErrorKind } from '../store/storeErrorKind.ts';
import { DLQ_HEADERS, type DeadLetterPublisher, type PipelineStage } from './deadLetter.ts';
import { MessageRejected, type NormalizedMessage, type PreparedMessage } from './hl7v2Normalizer.ts';
import { storeBatch, type WrittenResource } from './mappedResourceSteps.ts';
import { mapBounded } from '../core/boundedParallel.ts';
import type { PipelineStageName, StageTimings } from './stageTimings.ts';
import type { ResourceStore } from '../store/resourceStore.ts';

/** Something that turns one inbound envelope into resources to store (HL7v2, FHIR...). */
export interface EnvelopeNormalizer {
  prepare(envelope: InboundEnvelope): PreparedMessage;
}

export interface RecordProcessorDeps {
  normalizers: Partial<Record<InboundEnvelope['contentType'], EnvelopeNormalizer>>;
  store: ResourceStore;
  messageLog: SourceMessageLog;
  deadLetter: DeadLetterPublisher;
  log: Logger;
  /** called after a message's resources are stored (the patient index hooks in here) */
  onProcessed?: (result: NormalizedMessage, envelope: InboundEnvelope) => Promise<void>;
  /** the same for a batch of messages at once, in order (used instead of onProcessed when given) */
  onBatchProcessed?: (results: NormalizedMessage[]) => Promise<void>;
  /** messages of different patients whose onProcessed runs side by side in a batch (default 8) */
  concurrency?: number;
  /** where the time goes, per stage (benchmarks, status) */
  timings?: StageTimings;
}

export function sourceMessageId(envelope: InboundEnvelope): string {
  const digest = createHash('sha256').update(envelope.raw).digest('hex');
  return deterministicId('source-message', envelope.sourceSystem, envelope.connectorId, envelope.controlId ?? '', digest);
}

/** Why a record failed and whether trying it again can help. */
interface Failure {
  error: HubError;
  stage: PipelineStage;
  permanent: boolean;
}

/**
 * A rejection names its stage; a store refusal of the data is permanent; anything else
 * (store unreachable, a bug) may pass on another attempt.
 */
function failureOf(err: unknown): Failure {
  if (err instanceof MessageRejected) return { error: err.error, stage: err.stage, permanent: true };
  return { error: toHubError(err, 'PIPELINE_FAILED'), stage: 'store', permanent: storeErrorKind(err) === 'permanent' };
}

type MessageBase = Omit<SourceMessageRecord, 'status' | 'processedAt' | 'resources' | 'mappingId' | 'mappingVersion' | 'error' | 'warnings'>;

/** A record read and mapped, ready to store. */
interface PreparedRecord {
  record: ConsumedRecord;
  envelope: InboundEnvelope;
  base: MessageBase;
  prepared: PreparedMessage;
}

function baseOf(envelope: InboundEnvelope, record: ConsumedRecord): MessageBase {
  return {
    id: sourceMessageId(envelope), sourceSystem: envelope.sourceSystem, connectorId: envelope.connectorId,
    contentType: envelope.contentType, receivedAt: envelope.receivedAt, raw: envelope.raw,
    position: { topic: record.topic, partition: record.partition, offset: record.offset },
    ...(envelope.messageType ? { messageType: envelope.messageType } : {}),
    ...(envelope.controlId ? { controlId: envelope.controlId } : {}),
    ...(envelope.charset ? { charset: envelope.charset } : {}),
  };
}

function prepareEnvelope(deps: RecordProcessorDeps, envelope: InboundEnvelope): PreparedMessage {
  const normalizer = deps.normalizers[envelope.contentType];
  if (!normalizer) {
    throw new MessageRejected(new HubError('PIPELINE_NO_NORMALIZER', `no normalizer for ${envelope.contentType}${envelope.contentType === CONTENT_TYPES.fhirJson ? ' (FHIR input is not enabled)' : ''}`), 'ingest');
  }
  return normalizer.prepare(envelope);
}

/**
 * Stores the resources of several prepared messages in one batch, completes what an interrupted
 * earlier processing left out, runs the patient index (different patients side by side, one
 * patient's messages in order), and records each message in source_messages last: that entry is
 * what says a message was processed to the end.
 */
async function storeMessages(deps: RecordProcessorDeps, items: PreparedRecord[]): Promise<void> {
  if (!items.length) return;
  const timed = <T>(stage: PipelineStageName, fn: () => Promise<T>): Promise<T> => (deps.timings ? deps.timings.time(stage, fn) : fn());
  const written = await timed('store', () => storeBatch(deps.store, items.map((i) => ({ resources: i.prepared.resources, writer: i.base.id }))));
  await timed('repair', () => repairInterrupted(deps, items, written));
  const results: NormalizedMessage[] = items.map((item, n) => {
    const { resources: _resources, ...rest } = item.prepared;
    return { ...rest, written: written[n]! };
  });
  if (deps.onBatchProcessed) {
    await timed('index', () => deps.onBatchProcessed!(results));
  } else if (deps.onProcessed) {
    const byPatient = new Map<string, number[]>();
    items.forEach((item, n) => {
      const key = item.record.key ?? item.base.id;
      byPatient.set(key, [...(byPatient.get(key) ?? []), n]);
    });
    await timed('index', () => mapBounded([...byPatient.values()], deps.concurrency ?? 8, async (ns) => {
      for (const n of ns) await deps.onProcessed!(results[n]!, items[n]!.envelope);
    }));
  }
  const processedAt = new Date().toISOString();
  await timed('log', () => deps.messageLog.recordMany(items.map((item, n) => ({
    ...item.base, status: 'processed', processedAt,
    mappingId: results[n]!.mappingId, mappingVersion: results[n]!.mappingVersion,
    resources: results[n]!.written.map((w) => ({ reference: w.reference, outcome: w.result.outcome, versionId: w.result.versionId })),
    ...(results[n]!.warnings.length ? { warnings: results[n]!.warnings } : {}),
  }))));
  if (deps.timings) {
    deps.timings.messages += items.length;
    deps.timings.batches += 1;
  }
  for (const r of results) {
    deps.log.debug({ controlId: r.controlId, messageType: r.messageType, outcomes: r.written.map((w) => `${w.reference}:${w.result.outcome}`) }, 'message normalized');
  }
}

/**
 * A resource found unchanged was written by an earlier message; if that message never reached
 * its source_messages entry (a crash, a kill), its write may lack the history copy or postings,
 * and the store completes them. Messages of this batch are completing now and are left out.
 */
async function repairInterrupted(deps: RecordProcessorDeps, items: PreparedRecord[], written: WrittenResource[][]): Promise<void> {
  const own = new Set(items.map((i) => i.base.id));
  const suspects = written.flatMap((list, n) => list.filter((w) => {
    const by = w.result.outcome === 'unchanged' || w.result.outcome === 'stale' ? w.result.writtenBy : undefined;
    // another message of this batch wrote it just now; this message itself did if it is a replay of an interrupted run
    return by !== undefined && (!own.has(by) || by === items[n]!.base.id);
  }));
  if (!suspects.length) return;
  const completed = await deps.messageLog.processedIds([...new Set(suspects.map((w) => w.result.writtenBy!))]);
  const refs = suspects.filter((w) => !completed.has(w.result.writtenBy!)).map((w) => {
    const [type = '', id = ''] = w.reference.split('/');
    return { type, id };
  });
  if (!refs.length) return;
  const parts = await deps.store.repair(refs);
  if (parts) deps.log.info({ resources: refs.length, parts }, 'completed the writes of an interrupted message');
}

/**
 * The consumer-side handler for one record: it ends either stored (and logged with provenance)
 * or dead-lettered with its reason and attempts. A failure that may pass is thrown, so the
 * consumer retries the record with back-off instead of committing past it, until its final
 * attempt: then the record is dead-lettered whatever the reason, and its partition moves on.
 */
export function createRecordProcessor(deps: RecordProcessorDeps): RecordHandler {
  return async (record: ConsumedRecord, delivery: DeliveryAttempt) => {
    const attempts = { [DLQ_HEADERS.attempts]: String(delivery.attempt) };
    let envelope: InboundEnvelope;
    try {
      envelope = envelopeFromRecord(record.headers, record.value, record.key);
    } catch (err) {
      await deps.deadLetter.send(record, toHubError(err, 'ENVELOPE_INVALID'), 'ingest', attempts);
      deps.log.warn({ topic: record.topic, offset: record.offset, code: toHubError(err).code }, 'record dead-lettered: bad envelope');
      return;
    }
    const base = baseOf(envelope, record);
    try {
      await storeMessages(deps, [{ record, envelope, base, prepared: prepareEnvelope(deps, envelope) }]);
    } catch (err) {
      const failure = failureOf(err);
      if (!failure.permanent && !delivery.final) throw err;
      const { error, stage } = failure.permanent ? failure : {
        stage: failure.stage,
        error: new HubError('PIPELINE_ATTEMPTS_EXHAUSTED',
          `gave up after ${delivery.attempt} attempts; the last failed with ${failure.error.code}: ${failure.error.message}`,
          { lastError: failure.error.toJSON() }),
      };
      const extra = failure.permanent ? attempts : { ...attempts, [DLQ_HEADERS.lastError]: `${failure.error.code}: ${failure.error.message}`.slice(0, 2000) };
      // Logged before the dead letter: if the log cannot be written yet the record is retried,
      // and the dead-letter topic gets it once, not once per attempt.
      await recordDeadLettered(deps, delivery, { ...base, status: 'dead-lettered', processedAt: new Date().toISOString(), resources: [], error: { code: error.code, message: error.message } });
      await deps.deadLetter.send(record, error, stage, extra);
      deps.log.warn({
        controlId: envelope.controlId, connectorId: envelope.connectorId, code: error.code, stage, reason: error.message, attempts: delivery.attempt,
      }, 'message dead-lettered');
    }
  };
}

/**
 * The consumer-side handler for the records waiting in a partition: mapped one by one, stored
 * as one batch. A record that cannot be read or mapped is left to the single-record handler
 * (which dead-letters it) after the others; any other failure throws, and the lane then hands
 * every record of the batch to the single-record handler, which isolates the culprit.
 */
export function createBatchProcessor(deps: RecordProcessorDeps, single: RecordHandler = createRecordProcessor(deps)): BatchHandler {
  return async (records: ConsumedRecord[]) => {
    const ready: PreparedRecord[] = [];
    const rejected: ConsumedRecord[] = [];
    const started = performance.now();
    for (const record of records) {
      try {
        const envelope = envelopeFromRecord(record.headers, record.value, record.key);
        ready.push({ record, envelope, base: baseOf(envelope, record), prepared: prepareEnvelope(deps, envelope) });
      } catch {
        rejected.push(record);
      }
    }
    deps.timings?.add('map', performance.now() - started);
    await storeMessages(deps, ready);
    // nothing of theirs was written, so handling them after the batch keeps every write in order
    for (const record of rejected) await single(record, { attempt: 1, final: false });
    if (ready.length) deps.log.info({ messages: ready.length, rejected: rejected.length, partition: records[0]!.partition, to: records[records.length - 1]!.offset }, 'batch stored');
  };
}

/** Provenance of a dead letter; on the final attempt it may fail (the store is what is failing) without holding the record. */
async function recordDeadLettered(deps: RecordProcessorDeps, delivery: DeliveryAttempt, entry: SourceMessageRecord): Promise<void> {
  try {
    await deps.messageLog.record(entry);
  } catch (err) {
    if (!delivery.final && storeErrorKind(err) === 'transient') throw err;
    deps.log.warn({ controlId: entry.controlId, err: (err as Error).message }, 'dead letter not recorded in source_messages');
  }
}

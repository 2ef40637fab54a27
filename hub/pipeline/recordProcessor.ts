import { createHash } from 'node:crypto';
import type { ConsumedRecord, DeliveryAttempt, RecordHandler } from '../bus/messageBus.ts';
import { deterministicId } from '../core/deterministicId.ts';
import { HubError, toHubError } from '../core/hubError.ts';
import { CONTENT_TYPES, envelopeFromRecord, type InboundEnvelope } from '../core/inboundEnvelope.ts';
import type { Logger } from '../core/logger.ts';
import type { SourceMessageLog, SourceMessageRecord } from '../store/sourceMessageLog.ts';
import { storeErrorKind } from '../store/storeErrorKind.ts';
import { DLQ_HEADERS, type DeadLetterPublisher, type PipelineStage } from './deadLetter.ts';
import { MessageRejected, type Hl7v2Normalizer, type NormalizedMessage } from './hl7v2Normalizer.ts';

/** Something that turns one inbound envelope into stored resources (HL7v2, FHIR...). */
export interface EnvelopeNormalizer {
  process(envelope: InboundEnvelope): Promise<NormalizedMessage>;
}

export interface RecordProcessorDeps {
  normalizers: Partial<Record<InboundEnvelope['contentType'], EnvelopeNormalizer | Hl7v2Normalizer>>;
  messageLog: SourceMessageLog;
  deadLetter: DeadLetterPublisher;
  log: Logger;
  /** called after a message's resources are stored (the patient index hooks in here) */
  onProcessed?: (result: NormalizedMessage, envelope: InboundEnvelope) => Promise<void>;
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

/**
 * The consumer-side handler: every record ends either stored (and logged with provenance) or
 * dead-lettered with its reason and attempts. A failure that may pass is thrown, so the
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
    const position = { topic: record.topic, partition: record.partition, offset: record.offset };
    const base = {
      id: sourceMessageId(envelope), sourceSystem: envelope.sourceSystem, connectorId: envelope.connectorId,
      contentType: envelope.contentType, receivedAt: envelope.receivedAt, raw: envelope.raw, position,
      ...(envelope.messageType ? { messageType: envelope.messageType } : {}),
      ...(envelope.controlId ? { controlId: envelope.controlId } : {}),
      ...(envelope.charset ? { charset: envelope.charset } : {}),
    };
    const normalizer = deps.normalizers[envelope.contentType];
    try {
      if (!normalizer) {
        throw new MessageRejected(new HubError('PIPELINE_NO_NORMALIZER', `no normalizer for ${envelope.contentType}${envelope.contentType === CONTENT_TYPES.fhirJson ? ' (FHIR input is not enabled)' : ''}`), 'ingest');
      }
      const result = await normalizer.process(envelope);
      await deps.messageLog.record({
        ...base, status: 'processed', processedAt: new Date().toISOString(),
        mappingId: result.mappingId, mappingVersion: result.mappingVersion,
        resources: result.written.map((w) => ({ reference: w.reference, outcome: w.result.outcome, versionId: w.result.versionId })),
        ...(result.warnings.length ? { warnings: result.warnings } : {}),
      });
      if (deps.onProcessed) await deps.onProcessed(result, envelope);
      deps.log.info({
        controlId: result.controlId, messageType: result.messageType, connectorId: envelope.connectorId,
        outcomes: result.written.map((w) => `${w.reference}:${w.result.outcome}`),
      }, 'message normalized');
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

/** Provenance of a dead letter; on the final attempt it may fail (the store is what is failing) without holding the record. */
async function recordDeadLettered(deps: RecordProcessorDeps, delivery: DeliveryAttempt, entry: SourceMessageRecord): Promise<void> {
  try {
    await deps.messageLog.record(entry);
  } catch (err) {
    if (!delivery.final && storeErrorKind(err) === 'transient') throw err;
    deps.log.warn({ controlId: entry.controlId, err: (err as Error).message }, 'dead letter not recorded in source_messages');
  }
}

import { createHash } from 'node:crypto';
import type { ConsumedRecord, RecordHandler } from '../bus/messageBus.ts';
import { deterministicId } from '../core/deterministicId.ts';
import { HubError, toHubError } from '../core/hubError.ts';
import { CONTENT_TYPES, envelopeFromRecord, type InboundEnvelope } from '../core/inboundEnvelope.ts';
import type { Logger } from '../core/logger.ts';
import type { SourceMessageLog } from '../store/sourceMessageLog.ts';
import type { DeadLetterPublisher } from './deadLetter.ts';
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

/**
 * The consumer-side handler: every record ends either stored (and logged with provenance) or
 * dead-lettered with its reason. Only infrastructure failures throw, so the consumer retries
 * the record instead of committing past it.
 */
export function createRecordProcessor(deps: RecordProcessorDeps): RecordHandler {
  return async (record: ConsumedRecord) => {
    let envelope: InboundEnvelope;
    try {
      envelope = envelopeFromRecord(record.headers, record.value, record.key);
    } catch (err) {
      await deps.deadLetter.send(record, toHubError(err, 'ENVELOPE_INVALID'), 'ingest');
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
      if (!(err instanceof MessageRejected)) throw err;
      await deps.deadLetter.send(record, err.error, err.stage);
      await deps.messageLog.record({
        ...base, status: 'dead-lettered', processedAt: new Date().toISOString(), resources: [],
        error: { code: err.error.code, message: err.error.message },
      });
      deps.log.warn({ controlId: envelope.controlId, connectorId: envelope.connectorId, code: err.error.code, stage: err.stage, reason: err.error.message }, 'message dead-lettered');
    }
  };
}

import type { BusProducer } from '../../hub/bus/messageBus.ts';
import { HubError, toHubError } from '../../hub/core/hubError.ts';
import { CONTENT_TYPES, envelopeHeaders, type InboundEnvelope } from '../../hub/core/inboundEnvelope.ts';
import type { Logger } from '../../hub/core/logger.ts';
import {
  acceptAckRequested, ackCodeFor, ackModeOf, ackSubjectOf, ackSubjectOfRaw, buildAck, HL7_ERROR_CONDITION,
  type AckCode, type AckError, type AckOutcome, type AckSubject,
} from '../../hub/hl7v2/hl7Ack.ts';
import { decodeHl7, encodeHl7, type InvalidUtf8Policy } from '../../hub/hl7v2/hl7Charset.ts';
import { hl7MessageBoundsError, type Hl7MessageLimits } from '../../hub/hl7v2/hl7MessageBounds.ts';
import type { Hl7Message } from '../../hub/hl7v2/hl7Message.ts';
import { parseHl7 } from '../../hub/hl7v2/hl7Parser.ts';
import { DeadLetterPublisher, DLQ_HEADERS, type PipelineStage } from '../../hub/pipeline/deadLetter.ts';
import type { SupportCheck } from '../connector.ts';
import { patientKeyOf } from './patientKey.ts';

export { patientKeyOf };

export interface IntakeSettings {
  connectorId: string;
  sourceSystem: string;
  topic: string;
  deadLetterTopic: string;
  /** charset assumed when MSH-18 is empty */
  defaultCharset?: string;
  /** original-mode code when the message could not be stored (Kafka down): AE invites a resend, AR does not */
  storeFailureAck?: 'AE' | 'AR';
  isSupported?: SupportCheck;
  /** what one message may cost the pipeline (segments); larger ones are refused AR, not accepted and stuck */
  limits?: Hl7MessageLimits;
  /** a message declared UTF-8 whose bytes are not: `warn` accepts it (its lineage gets a warning), `refuse` answers AR (default warn) */
  invalidUtf8?: InvalidUtf8Policy;
}

export interface IntakeMeta {
  remoteAddress?: string;
  fileName?: string;
  /** charset the transport declared (HTTP Content-Type), used when MSH-18 is empty */
  charset?: string;
}

export interface IntakeResult {
  outcome: AckOutcome;
  accepted: boolean;
  ackCode: AckCode;
  /** ACK text, not framed */
  ack: string;
  /** ACK encoded in the charset of the message it answers */
  ackBytes: Buffer;
  /** false when MSH-15 (enhanced mode) asked for no accept acknowledgement in this case */
  ackRequested: boolean;
  /** charset of ackBytes (the message's), undefined for UTF-8 */
  charset?: string;
  controlId?: string;
  /** where a refused message went: the dead-letter topic, or nowhere because even that failed */
  deadLettered?: boolean;
  error?: HubError;
}

export interface IntakeCounters {
  received: number;
  accepted: number;
  rejected: number;
  storeFailures: number;
  unsupported: number;
  deadLettered: number;
  bytes: number;
}

/** Bytes of an oversized message kept in the dead-letter record, enough to identify it. */
const TRUNCATED_HEAD_BYTES = 64 * 1024;

/**
 * Accepts one HL7v2 message from any transport: decode, parse, check the hub can process it,
 * write it durably to Kafka, and only then answer AA (CA in enhanced mode). A message that
 * does not parse or that no mapping handles is dead-lettered with its bytes and answered AR
 * (CR) with an ERR segment saying where; a message Kafka did not confirm is answered AE (CE)
 * so the sender keeps it and sends it again.
 */
export class Hl7v2Intake {
  private readonly deadLetter: DeadLetterPublisher;
  readonly counters: IntakeCounters = { received: 0, accepted: 0, rejected: 0, storeFailures: 0, unsupported: 0, deadLettered: 0, bytes: 0 };
  /** epoch millis of the last write Kafka refused; health turns degraded for a while after it */
  lastStoreFailure = 0;

  constructor(private readonly settings: IntakeSettings, private readonly producer: BusProducer, private readonly log: Logger) {
    this.deadLetter = new DeadLetterPublisher(producer, settings.deadLetterTopic);
  }

  async accept(raw: Buffer, meta: IntakeMeta = {}): Promise<IntakeResult> {
    this.counters.received += 1;
    this.counters.bytes += raw.length;
    const receivedAt = new Date().toISOString();
    let text: string | undefined;
    let charset: string | undefined;
    let message: Hl7Message;
    try {
      ({ text, charset } = decodeHl7(raw, meta.charset ?? this.settings.defaultCharset, { invalidUtf8: this.settings.invalidUtf8 ?? 'warn' }));
      message = parseHl7(text);
    } catch (err) {
      const error = toHubError(err, 'HL7_PARSE_FAILED');
      const subject = ackSubjectOfRaw(text ?? raw.toString('latin1'));
      const stage: PipelineStage = charset === undefined ? 'decode' : 'parse';
      return this.refuse(subject, error, stage, this.envelope(raw, receivedAt, meta), charset);
    }
    const subject = ackSubjectOf(message);
    const envelope = this.envelope(raw, receivedAt, meta, message, charset);
    const outOfBounds = this.settings.limits ? hl7MessageBoundsError(message, this.settings.limits) : undefined;
    if (outOfBounds) return this.refuse(subject, outOfBounds, 'intake', envelope, charset, envelope.patientKey);
    const verdict = this.settings.isSupported?.(message) ?? { supported: true };
    if (!verdict.supported) {
      this.counters.unsupported += 1;
      const code = verdict.unsupported === 'messageType' ? 'HL7_MESSAGE_TYPE_UNSUPPORTED' : 'HL7_EVENT_UNSUPPORTED';
      const error = new HubError(code, verdict.reason, { hl7: { segment: 'MSH', sequence: 1, field: 9, component: verdict.unsupported === 'messageType' ? 1 : 2 } });
      return this.refuse(subject, error, 'intake', envelope, charset, envelope.patientKey);
    }
    try {
      await this.producer.publish({ topic: this.settings.topic, value: raw, headers: envelopeHeaders(envelope), ...(envelope.patientKey ? { key: envelope.patientKey } : {}) });
    } catch (err) {
      const error = toHubError(err, 'BUS_PUBLISH_FAILED');
      if (error.code === 'BUS_RECORD_TOO_LARGE') {
        return this.refuse(subject, error, 'intake', { ...envelope, raw: raw.subarray(0, TRUNCATED_HEAD_BYTES) }, charset, envelope.patientKey, true);
      }
      return this.storeFailed(subject, error, charset);
    }
    this.counters.accepted += 1;
    return this.reply(subject, 'accepted', undefined, charset);
  }

  /**
   * A message refused before parsing because it is larger than the transport allows. Only its
   * head is kept in the dead-letter record (marked truncated); the sender must fix and resend.
   */
  async refuseTooLarge(head: Buffer, totalBytes: number, limit: number, meta: IntakeMeta = {}): Promise<IntakeResult> {
    this.counters.received += 1;
    this.counters.bytes += totalBytes;
    const kept = head.subarray(0, TRUNCATED_HEAD_BYTES);
    const error = new HubError('HL7_MESSAGE_TOO_LARGE', `message of at least ${totalBytes} bytes exceeds the ${limit}-byte limit of connector ${this.settings.connectorId}`);
    let text: string;
    try {
      text = decodeHl7(kept, this.settings.defaultCharset).text;
    } catch {
      text = kept.toString('latin1');
    }
    return this.refuse(ackSubjectOfRaw(text), error, 'intake', this.envelope(kept, new Date().toISOString(), meta), undefined, undefined, true);
  }

  private envelope(raw: Buffer, receivedAt: string, meta: IntakeMeta, message?: Hl7Message, charset?: string): InboundEnvelope {
    const patientKey = message ? patientKeyOf(message) : undefined;
    return {
      connectorId: this.settings.connectorId,
      sourceSystem: this.settings.sourceSystem,
      receivedAt,
      contentType: CONTENT_TYPES.hl7v2,
      raw,
      ...(message ? { messageType: message.typeLabel } : {}),
      ...(message?.controlId ? { controlId: message.controlId } : {}),
      ...(message?.sendingFacility ? { sendingFacility: message.sendingFacility } : {}),
      ...(charset ? { charset } : {}),
      ...(meta.remoteAddress ? { remoteAddress: meta.remoteAddress } : {}),
      ...(meta.fileName ? { fileName: meta.fileName } : {}),
      ...(patientKey ? { patientKey } : {}),
    };
  }

  /**
   * Dead-letters and answers AR/CR. If even the dead-letter write fails, the answer becomes
   * AE/CE: the message is nowhere on our side, so the sender must keep it.
   */
  private async refuse(subject: AckSubject, error: HubError, stage: PipelineStage, envelope: InboundEnvelope, charset: string | undefined, key?: string, truncated = false): Promise<IntakeResult> {
    this.counters.rejected += 1;
    try {
      await this.deadLetter.send(
        { topic: this.settings.topic, partition: -1, offset: -1, value: envelope.raw, headers: envelopeHeaders(envelope), ...(key ? { key } : {}) },
        error, stage, truncated ? { [DLQ_HEADERS.truncated]: 'true' } : {},
      );
      this.counters.deadLettered += 1;
    } catch (err) {
      this.log.error({ controlId: subject.controlId, code: error.code, dlqError: (err as Error).message }, 'could not dead-letter a refused message; answering with an error ACK so the sender keeps it');
      return this.storeFailed(subject, new HubError(error.code, `${error.message}; the message could not be kept either, please resend`, error.detail), charset);
    }
    this.log.warn({ controlId: subject.controlId, code: error.code, stage, connectorId: this.settings.connectorId }, 'message refused and dead-lettered');
    return { ...this.reply(subject, 'rejected', error, charset), deadLettered: true };
  }

  private storeFailed(subject: AckSubject, error: HubError, charset: string | undefined): IntakeResult {
    this.counters.storeFailures += 1;
    this.lastStoreFailure = Date.now();
    this.log.warn({ controlId: subject.controlId, code: error.code, reason: error.message }, 'message not stored; answering with an error ACK');
    const outcome: AckOutcome = this.settings.storeFailureAck === 'AR' ? 'rejected' : 'error';
    const resend = error.message.includes('resend') ? error : new HubError(error.code, `message not stored, please resend: ${error.message}`, error.detail);
    return this.reply(subject, outcome, resend, charset);
  }

  private reply(subject: AckSubject, outcome: AckOutcome, error: HubError | undefined, charset: string | undefined): IntakeResult {
    const code = ackCodeFor(outcome, ackModeOf(subject));
    const errors: AckError[] = error ? [{
      condition: conditionFor(error.code),
      message: error.message,
      hubCode: error.code,
      ...(error.detail.hl7 ? { location: error.detail.hl7 } : {}),
    }] : [];
    const ack = buildAck(subject, { code, ...(error ? { text: error.message } : {}), errors });
    let ackBytes: Buffer;
    let ackCharset = charset;
    try {
      ackBytes = encodeHl7(ack, charset);
    } catch {
      ackBytes = Buffer.from(ack, 'utf8');
      ackCharset = undefined;
    }
    return {
      outcome, accepted: outcome === 'accepted', ackCode: code, ack, ackBytes,
      ...(ackCharset ? { charset: ackCharset } : {}),
      ackRequested: acceptAckRequested(subject, code),
      ...(subject.controlId ? { controlId: subject.controlId } : {}), ...(error ? { error } : {}),
    };
  }
}

/** HL7 table 0357 condition for a hub error code. */
export function conditionFor(code: string): string {
  switch (code) {
    case 'HL7_MESSAGE_TYPE_UNSUPPORTED': return HL7_ERROR_CONDITION.unsupportedMessageType;
    case 'HL7_EVENT_UNSUPPORTED': return HL7_ERROR_CONDITION.unsupportedEventCode;
    case 'HL7_MESSAGE_TYPE_MISSING': case 'HL7_CONTROL_ID_MISSING': return HL7_ERROR_CONDITION.requiredFieldMissing;
    case 'HL7_SEGMENT_INVALID': case 'HL7_MSH_MISSING': case 'HL7_EMPTY_MESSAGE': return HL7_ERROR_CONDITION.segmentSequenceError;
  }
  if (code.startsWith('HL7_')) return HL7_ERROR_CONDITION.dataTypeError;
  return HL7_ERROR_CONDITION.applicationInternalError;
}

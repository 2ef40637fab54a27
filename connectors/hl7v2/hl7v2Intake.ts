import type { BusProducer } from '../../hub/bus/messageBus.ts';
import { HubError, toHubError } from '../../hub/core/hubError.ts';
import { CONTENT_TYPES, envelopeHeaders, type InboundEnvelope } from '../../hub/core/inboundEnvelope.ts';
import type { Logger } from '../../hub/core/logger.ts';
import { ackSubjectOf, ackSubjectOfRaw, buildAck, HL7_ERROR_CONDITION, type AckCode, type AckError, type AckSubject } from '../../hub/hl7v2/hl7Ack.ts';
import { decodeHl7, encodeHl7 } from '../../hub/hl7v2/hl7Charset.ts';
import type { Hl7Message } from '../../hub/hl7v2/hl7Message.ts';
import { parseHl7 } from '../../hub/hl7v2/hl7Parser.ts';
import { DeadLetterPublisher } from '../../hub/pipeline/deadLetter.ts';

export interface IntakeSettings {
  connectorId: string;
  sourceSystem: string;
  topic: string;
  deadLetterTopic: string;
  /** charset assumed when MSH-18 is empty */
  defaultCharset?: string;
  /** ACK code when the message could not be stored (Kafka down): AE invites a resend, AR does not */
  storeFailureAck?: 'AE' | 'AR';
}

export interface IntakeMeta {
  remoteAddress?: string;
  fileName?: string;
}

export interface IntakeResult {
  accepted: boolean;
  ackCode: AckCode;
  /** ACK text, not framed */
  ack: string;
  /** ACK encoded in the charset of the message it answers */
  ackBytes: Buffer;
  controlId?: string;
  error?: HubError;
}

/** The patient identifier as Kafka key: authority and number, so equal MRNs of two hospitals differ. */
export function patientKeyOf(message: Hl7Message): string | undefined {
  const pid = message.segment('PID');
  const id = pid?.value(3, 0, 1);
  if (!id) return undefined;
  const authority = pid?.value(3, 0, 4) ?? '';
  return authority ? `${authority}|${id}` : id;
}

/**
 * Accepts one HL7v2 message from any transport: decode, check it parses, write it durably to
 * Kafka, and only then answer AA. A message that does not parse is dead-lettered with its bytes
 * and answered AR with an ERR segment saying where; a message Kafka did not confirm is answered
 * AE (or AR) so the sender keeps it.
 */
export class Hl7v2Intake {
  private readonly deadLetter: DeadLetterPublisher;

  constructor(private readonly settings: IntakeSettings, private readonly producer: BusProducer, private readonly log: Logger) {
    this.deadLetter = new DeadLetterPublisher(producer, settings.deadLetterTopic);
  }

  async accept(raw: Buffer, meta: IntakeMeta = {}): Promise<IntakeResult> {
    const receivedAt = new Date().toISOString();
    let text: string;
    let charset: string;
    let message: Hl7Message;
    try {
      ({ text, charset } = decodeHl7(raw, this.settings.defaultCharset));
      message = parseHl7(text);
    } catch (err) {
      const error = toHubError(err, 'HL7_PARSE_FAILED');
      const subject = ackSubjectOfRaw(raw.toString('latin1'));
      await this.deadLetterRaw(raw, error, receivedAt, meta);
      return this.reply(subject, 'AR', error, undefined);
    }
    const subject = ackSubjectOf(message);
    const envelope: InboundEnvelope = {
      connectorId: this.settings.connectorId,
      sourceSystem: this.settings.sourceSystem,
      receivedAt,
      contentType: CONTENT_TYPES.hl7v2,
      messageType: message.typeLabel,
      charset,
      raw,
      ...(message.controlId ? { controlId: message.controlId } : {}),
      ...(message.sendingFacility ? { sendingFacility: message.sendingFacility } : {}),
      ...(meta.remoteAddress ? { remoteAddress: meta.remoteAddress } : {}),
      ...(meta.fileName ? { fileName: meta.fileName } : {}),
    };
    const key = patientKeyOf(message);
    try {
      await this.producer.publish({ topic: this.settings.topic, value: raw, headers: envelopeHeaders(envelope), ...(key ? { key } : {}) });
    } catch (err) {
      const error = toHubError(err, 'BUS_PUBLISH_FAILED');
      this.log.warn({ controlId: message.controlId, code: error.code, reason: error.message }, 'message not stored; answering with an error ACK');
      return this.reply(subject, this.settings.storeFailureAck ?? 'AE', new HubError(error.code, `message not stored, please resend: ${error.message}`), charset);
    }
    return this.reply(subject, 'AA', undefined, charset);
  }

  private async deadLetterRaw(raw: Buffer, error: HubError, receivedAt: string, meta: IntakeMeta): Promise<void> {
    const headers = envelopeHeaders({
      connectorId: this.settings.connectorId, sourceSystem: this.settings.sourceSystem, receivedAt,
      contentType: CONTENT_TYPES.hl7v2, raw, ...meta,
    });
    try {
      await this.deadLetter.send({ topic: this.settings.topic, partition: -1, offset: -1, value: raw, headers }, error, 'parse');
    } catch (err) {
      // The sender still gets AR and keeps the message; log so the operator sees both failures.
      this.log.error({ code: error.code, dlqError: (err as Error).message }, 'could not dead-letter a rejected message');
    }
  }

  private reply(subject: AckSubject, code: AckCode, error: HubError | undefined, charset: string | undefined): IntakeResult {
    const errors: AckError[] = error ? [{
      condition: conditionFor(error.code),
      message: error.message,
      hubCode: error.code,
      ...(error.detail.hl7 ? { location: error.detail.hl7 } : {}),
    }] : [];
    const ack = buildAck(subject, { code, ...(error ? { text: error.message } : {}), errors });
    let ackBytes: Buffer;
    try {
      ackBytes = encodeHl7(ack, charset);
    } catch {
      ackBytes = Buffer.from(ack, 'utf8');
    }
    return {
      accepted: code === 'AA' || code === 'CA', ackCode: code, ack, ackBytes,
      ...(subject.controlId ? { controlId: subject.controlId } : {}), ...(error ? { error } : {}),
    };
  }
}

function conditionFor(code: string): string {
  if (code === 'HL7_MESSAGE_TYPE_MISSING' || code === 'HL7_CONTROL_ID_MISSING') return HL7_ERROR_CONDITION.requiredFieldMissing;
  if (code === 'HL7_SEGMENT_INVALID' || code === 'HL7_MSH_MISSING') return HL7_ERROR_CONDITION.segmentSequenceError;
  if (code.startsWith('HL7_ENCODING') || code.startsWith('HL7_HEADER') || code === 'HL7_CHARSET_UNSUPPORTED') return HL7_ERROR_CONDITION.dataTypeError;
  if (code.startsWith('HL7_')) return HL7_ERROR_CONDITION.dataTypeError;
  return HL7_ERROR_CONDITION.applicationInternalError;
}

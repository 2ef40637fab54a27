import type { BusProducer, RecordPosition } from '../../hub/bus/messageBus.ts';
import { HubError, toHubError } from '../../hub/core/hubError.ts';
import { CONTENT_TYPES, envelopeHeaders, type InboundEnvelope } from '../../hub/core/inboundEnvelope.ts';
import type { Logger } from '../../hub/core/logger.ts';
import { DeadLetterPublisher, DLQ_HEADERS } from '../../hub/pipeline/deadLetter.ts';
import type { ConnectorContext } from '../connector.ts';
import { fhirControlIdOf } from './fhirControlId.ts';
import { checkFhirInput, type CheckedFhirInput, type ExpectedTarget } from './fhirInputCheck.ts';
import { fhirPatientKeyOf } from './fhirPatientKey.ts';
import { fhirWrittenTypes } from './fhirWrittenTypes.ts';

export interface FhirIntakeSettings {
  connectorId: string;
  sourceSystem: string;
  topic: string;
  deadLetterTopic: string;
}

export interface FhirIntakeMeta {
  remoteAddress?: string;
  /** overrides the control id derived from the input (the poller names the version it fetched) */
  controlId?: string;
  /** the `<Type>/<id>` of a PUT URL */
  expect?: ExpectedTarget;
  /** what the authenticated sender may write; every type the input carries must pass */
  mayWrite?: (resourceType: string) => boolean;
}

export type RefusalStatus = 400 | 413 | 415 | 422;

export type FhirIntakeResult =
  | { outcome: 'accepted'; input: CheckedFhirInput; controlId: string; patientKey?: string; position: RecordPosition }
  /** refused for what it is; `deadLettered` false when even the dead-letter write failed */
  | { outcome: 'rejected'; status: RefusalStatus; error: HubError; deadLettered: boolean }
  /** the sender may not write a type the input carries: answered, neither stored nor dead-lettered (a replay would bypass the check) */
  | { outcome: 'forbidden'; error: HubError }
  /** Kafka did not confirm: nothing is kept, the sender must send it again */
  | { outcome: 'store-failed'; error: HubError };

export interface FhirIntakeCounters {
  received: number;
  accepted: number;
  rejected: number;
  storeFailures: number;
  deadLettered: number;
  /** resources carried by accepted inputs (a Bundle counts its entries) */
  resources: number;
  bytes: number;
}

/** Bytes of an input too large for Kafka kept in the dead-letter record, enough to identify it. */
const TRUNCATED_HEAD_BYTES = 64 * 1024;

/**
 * Accepts one FHIR JSON input (a resource or a whole Bundle) from any transport: cheap checks,
 * then one Kafka record on the FHIR inbound topic, keyed by the patient when one is evident.
 * Bundles stay whole so the references between their entries still resolve downstream. What
 * fails the checks goes to the dead-letter topic with the reason and the path.
 */
export class FhirIntake {
  private readonly deadLetter: DeadLetterPublisher;
  readonly counters: FhirIntakeCounters = { received: 0, accepted: 0, rejected: 0, storeFailures: 0, deadLettered: 0, resources: 0, bytes: 0 };
  /** epoch millis of the last write Kafka refused; health turns degraded for a while after it */
  lastStoreFailure = 0;

  constructor(private readonly settings: FhirIntakeSettings, private readonly producer: BusProducer, private readonly log: Logger) {
    this.deadLetter = new DeadLetterPublisher(producer, settings.deadLetterTopic);
  }

  async accept(raw: Buffer, meta: FhirIntakeMeta = {}): Promise<FhirIntakeResult> {
    this.counters.received += 1;
    this.counters.bytes += raw.length;
    const receivedAt = new Date().toISOString();
    const checked = checkFhirInput(raw, meta.expect ? { expect: meta.expect } : {});
    if (!checked.ok) {
      return this.refuseCounted(this.envelope(raw, receivedAt, meta), checked.problem.status, checked.problem.error);
    }
    const { input } = checked;
    const denied = meta.mayWrite && fhirWrittenTypes(input).find((t) => !meta.mayWrite!(t.type));
    if (denied) {
      this.log.warn({ connectorId: this.settings.connectorId, type: denied.type, path: denied.path }, 'FHIR input refused: the sender may not write this type');
      return { outcome: 'forbidden', error: new HubError('HTTP_FORBIDDEN', `the token's scopes do not allow writing ${denied.type} (${denied.path}); it needs system/${denied.type}.write or system/*.write`, { path: denied.path }) };
    }
    const controlId = meta.controlId ?? fhirControlIdOf(input.resource);
    const patientKey = fhirPatientKeyOf(input.resource);
    const envelope = this.envelope(raw, receivedAt, meta, input.resourceType, controlId, patientKey);
    let position: RecordPosition;
    try {
      position = await this.producer.publish({ topic: this.settings.topic, value: raw, headers: envelopeHeaders(envelope), ...(patientKey ? { key: patientKey } : {}) });
    } catch (err) {
      const error = toHubError(err, 'BUS_PUBLISH_FAILED');
      if (error.code === 'BUS_RECORD_TOO_LARGE') {
        return this.refuseCounted({ ...envelope, raw: raw.subarray(0, TRUNCATED_HEAD_BYTES) }, 413, error, true);
      }
      this.counters.storeFailures += 1;
      this.lastStoreFailure = Date.now();
      this.log.warn({ connectorId: this.settings.connectorId, controlId, code: error.code, reason: error.message }, 'FHIR input not stored in Kafka');
      return { outcome: 'store-failed', error };
    }
    this.counters.accepted += 1;
    this.counters.resources += input.resourceCount;
    return { outcome: 'accepted', input, controlId, position, ...(patientKey ? { patientKey } : {}) };
  }

  /**
   * An input refused by the transport before it could be checked (content type, size). `head`
   * is what was read of it, kept in the dead-letter record marked truncated when incomplete.
   */
  async refuse(head: Buffer, totalBytes: number, status: RefusalStatus, error: HubError, meta: FhirIntakeMeta = {}, truncated = false): Promise<FhirIntakeResult> {
    this.counters.received += 1;
    this.counters.bytes += totalBytes;
    return this.refuseCounted(this.envelope(head.subarray(0, TRUNCATED_HEAD_BYTES), new Date().toISOString(), meta), status, error, truncated || head.length > TRUNCATED_HEAD_BYTES);
  }

  private envelope(raw: Buffer, receivedAt: string, meta: FhirIntakeMeta, messageType?: string, controlId?: string, patientKey?: string): InboundEnvelope {
    return {
      connectorId: this.settings.connectorId,
      sourceSystem: this.settings.sourceSystem,
      receivedAt,
      contentType: CONTENT_TYPES.fhirJson,
      raw,
      ...(messageType ? { messageType } : {}),
      ...(controlId ? { controlId } : {}),
      ...(meta.remoteAddress ? { remoteAddress: meta.remoteAddress } : {}),
      ...(patientKey ? { patientKey } : {}),
    };
  }

  /**
   * Dead-letters a refused input. The refusal stands even when the dead-letter write fails: the
   * input is wrong, so a resend would be refused again; the sender still has it and is told why.
   */
  private async refuseCounted(envelope: InboundEnvelope, status: RefusalStatus, error: HubError, truncated = false): Promise<FhirIntakeResult> {
    this.counters.rejected += 1;
    let deadLettered = true;
    try {
      await this.deadLetter.send(
        { topic: this.settings.topic, partition: -1, offset: -1, value: envelope.raw, headers: envelopeHeaders(envelope), ...(envelope.patientKey ? { key: envelope.patientKey } : {}) },
        error, 'intake', truncated ? { [DLQ_HEADERS.truncated]: 'true' } : {},
      );
      this.counters.deadLettered += 1;
    } catch (err) {
      deadLettered = false;
      this.log.error({ connectorId: this.settings.connectorId, code: error.code, dlqError: (err as Error).message }, 'could not dead-letter a refused FHIR input');
    }
    this.log.warn({ connectorId: this.settings.connectorId, code: error.code, path: error.detail.path, status }, 'FHIR input refused');
    return { outcome: 'rejected', status, error, deadLettered };
  }
}

/** The intake of one FHIR connector: its topic (or the hub's FHIR inbound topic) and the dead-letter topic. */
export function fhirIntakeFor(ctx: ConnectorContext): FhirIntake {
  return new FhirIntake({
    connectorId: ctx.config.id,
    sourceSystem: ctx.config.sourceSystem,
    topic: ctx.config.topic ?? ctx.hub.kafka.topics.fhirInbound,
    deadLetterTopic: ctx.hub.kafka.topics.deadLetter,
  }, ctx.producer, ctx.log);
}

import { HubError, toHubError } from '../core/hubError.ts';
import type { InboundEnvelope } from '../core/inboundEnvelope.ts';
import type { Logger } from '../core/logger.ts';
import type { PatientDirective } from '../core/patientDirective.ts';
import { decodeHl7, invalidUtf8Warning } from '../hl7v2/hl7Charset.ts';
import { hl7MessageBoundsError } from '../hl7v2/hl7MessageBounds.ts';
import { parseHl7 } from '../hl7v2/hl7Parser.ts';
import { mapHl7Message, type MappedResource, type MappingSettings } from '../mapping/mappingEngine.ts';
import type { MappingRegistry } from '../mapping/mappingRegistry.ts';
import type { ResourceStore, WriteResult } from '../store/resourceStore.ts';
import { checkResourceCount, storePrepared, validateMapped, type ResourceToStore } from './mappedResourceSteps.ts';
import type { PipelineStage } from './deadLetter.ts';
import type { ResourceValidator } from './resourceValidator.ts';

/** A message mapped and validated, ready to be stored. */
export interface PreparedMessage {
  mappingId: string;
  mappingVersion: string;
  controlId?: string;
  messageType: string;
  charset: string;
  resources: ResourceToStore[];
  patient?: string;
  /** statements about patient identity (A40 merge, A37 unlink) for the patient index */
  directives?: PatientDirective[];
  warnings: string[];
}

/** A message once stored: what each of its resources became. */
export interface NormalizedMessage extends Omit<PreparedMessage, 'resources'> {
  written: Array<{ key: string; reference: string; result: WriteResult }>;
}

/** A failure that belongs to the message (bad input, bad mapping): dead-letter it, do not retry. */
export class MessageRejected extends Error {
  constructor(readonly error: HubError, readonly stage: PipelineStage) {
    super(error.message);
  }
}

/** The work one message may cost (`pipeline.limits`); beyond it the message is dead-lettered. */
export interface PipelineLimits {
  maxSegments: number;
  maxResources: number;
}

/** What a normalizer (HL7v2, FHIR input) needs to map, validate and store. */
export interface NormalizerDeps {
  store: ResourceStore;
  registry: () => MappingRegistry;
  settings: MappingSettings;
  validators: ResourceValidator[];
  limits: PipelineLimits;
  log: Logger;
}

/** Runs one step; any failure rejects the message at that stage (dead-lettered with it). */
export function inStage<T>(name: PipelineStage, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new MessageRejected(toHubError(err, 'INTERNAL'), name);
  }
}

/** Decode → parse → map → validate → store, for one HL7v2 message from the inbound topic. */
export class Hl7v2Normalizer {
  constructor(private readonly deps: NormalizerDeps) {}

  /** Maps without storing: what `hub mapping test` and the store diff use. */
  map(envelope: InboundEnvelope): {
    resources: MappedResource[]; mappingId: string; mappingVersion: string; mappingFile: string; charset: string; messageType: string;
    controlId?: string; patient?: string; eventTime?: string; directives?: PatientDirective[]; warnings: string[];
  } {
    // invalid UTF-8 the intake accepted (connector option invalidUtf8: warn) is kept, and said so in the lineage
    const { text, charset, invalidUtf8 } = inStage('decode', () => decodeHl7(envelope.raw, envelope.charset));
    const message = inStage('parse', () => {
      const parsed = parseHl7(text);
      // intake refuses these too; this catches records from before the limit or from other writers
      const outOfBounds = hl7MessageBoundsError(parsed, this.deps.limits);
      if (outOfBounds) throw outOfBounds;
      return parsed;
    });
    const out = inStage('map', () => {
      const mapped = mapHl7Message(message, {
        sourceSystem: envelope.sourceSystem, connectorId: envelope.connectorId, receivedAt: envelope.receivedAt,
      }, this.deps.registry(), this.deps.settings);
      checkResourceCount(mapped.resources.length, this.deps.limits.maxResources);
      return mapped;
    });
    inStage('validate', () => validateMapped(out.resources, this.deps.validators, out.mappingFile));
    return {
      resources: out.resources, mappingId: out.mappingId, mappingVersion: out.mappingVersion, mappingFile: out.mappingFile, charset,
      messageType: message.typeLabel, ...(message.controlId ? { controlId: message.controlId } : {}),
      ...(out.patient ? { patient: out.patient } : {}), ...(out.eventTime ? { eventTime: out.eventTime } : {}),
      ...(out.directives ? { directives: out.directives } : {}),
      warnings: invalidUtf8 ? [invalidUtf8Warning(charset, invalidUtf8), ...out.warnings] : out.warnings,
    };
  }

  /** Decode, parse, map and validate: everything but the store write (the pipeline writes batches). */
  prepare(envelope: InboundEnvelope): PreparedMessage {
    const mapped = this.map(envelope);
    if (mapped.warnings.length) this.deps.log.debug({ controlId: mapped.controlId, warnings: mapped.warnings }, 'mapping warnings');
    return {
      mappingId: mapped.mappingId, mappingVersion: mapped.mappingVersion, messageType: mapped.messageType,
      charset: mapped.charset, warnings: mapped.warnings,
      resources: mapped.resources.map((r) => ({ key: r.key, resource: r.resource, ...(mapped.eventTime ? { sourceTime: mapped.eventTime } : {}) })),
      ...(mapped.controlId ? { controlId: mapped.controlId } : {}), ...(mapped.patient ? { patient: mapped.patient } : {}),
      ...(mapped.directives ? { directives: mapped.directives } : {}),
    };
  }

  async process(envelope: InboundEnvelope): Promise<NormalizedMessage> {
    return storePrepared(this.deps.store, this.prepare(envelope));
  }
}

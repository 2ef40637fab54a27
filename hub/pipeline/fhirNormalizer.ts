import { toHubError, HubError } from '../core/hubError.ts';
import type { InboundEnvelope } from '../core/inboundEnvelope.ts';
import type { Logger } from '../core/logger.ts';
import type { MappingSettings } from '../mapping/mappingEngine.ts';
import type { MappingRegistry } from '../mapping/mappingRegistry.ts';
import type { ResourceStore } from '../store/resourceStore.ts';
import type { PipelineStage } from './deadLetter.ts';
import { mapFhirInput, type FhirMappingOutput } from './fhirInputMapping.ts';
import { fhirInputRules } from './fhirInputRules.ts';
import { MessageRejected, type NormalizedMessage } from './hl7v2Normalizer.ts';
import { storeMapped, validateMapped } from './mappedResourceSteps.ts';
import type { ResourceValidator } from './resourceValidator.ts';

export interface FhirNormalizerDeps {
  store: ResourceStore;
  registry: () => MappingRegistry;
  settings: MappingSettings;
  validators: ResourceValidator[];
  log: Logger;
}

function stage<T>(name: PipelineStage, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new MessageRejected(toHubError(err, 'INTERNAL'), name);
  }
}

/**
 * Decode → parse → normalise → validate → store, for FHIR JSON (a Bundle of any type or one
 * resource) that a FHIR connector published to the FHIR inbound topic. Validation and storage
 * are the same steps HL7v2 goes through.
 */
export class FhirNormalizer {
  constructor(private readonly deps: FhirNormalizerDeps) {}

  /** Normalises without storing (tests, `hub mapping test`). */
  map(envelope: InboundEnvelope): FhirMappingOutput & { charset: string } {
    const charset = envelope.charset?.toLowerCase() || 'utf-8';
    const text = stage('decode', () => {
      try {
        return new TextDecoder(charset, { fatal: true }).decode(envelope.raw);
      } catch (err) {
        throw new HubError('FHIR_DECODE_FAILED', `cannot decode the body as ${charset}: ${(err as Error).message}`);
      }
    });
    const input = stage('parse', () => {
      try {
        return JSON.parse(text.replace(/^\uFEFF/, '')) as unknown;
      } catch (err) {
        throw new HubError('FHIR_JSON_INVALID', `body is not JSON: ${(err as Error).message}`);
      }
    });
    const out = stage('map', () => mapFhirInput(input, {
      sourceSystem: envelope.sourceSystem, ...(envelope.controlId ? { controlId: envelope.controlId } : {}),
    }, fhirInputRules(this.deps.registry()), this.deps.settings));
    stage('validate', () => validateMapped(out.resources, this.deps.validators, out.mappingFile));
    return { ...out, charset };
  }

  async process(envelope: InboundEnvelope): Promise<NormalizedMessage> {
    const mapped = this.map(envelope);
    const written = await storeMapped(this.deps.store, mapped.resources);
    if (mapped.warnings.length) this.deps.log.debug({ controlId: mapped.controlId, warnings: mapped.warnings }, 'FHIR input warnings');
    return {
      mappingId: mapped.mappingId, mappingVersion: mapped.mappingVersion, messageType: mapped.messageType,
      charset: mapped.charset, written, warnings: mapped.warnings,
      ...(mapped.controlId ? { controlId: mapped.controlId } : {}), ...(mapped.patient ? { patient: mapped.patient } : {}),
    };
  }
}

import { HubError } from '../core/hubError.ts';
import type { InboundEnvelope } from '../core/inboundEnvelope.ts';
import { mapFhirInput, type FhirMappingOutput } from './fhirInputMapping.ts';
import { fhirInputRules } from './fhirInputRules.ts';
import { inStage, MessageRejected, type NormalizedMessage, type NormalizerDeps, type PreparedMessage } from './hl7v2Normalizer.ts';
import { unstorableValueError } from '../store/storableJson.ts';
import { checkResourceCount, storePrepared, validateMapped } from './mappedResourceSteps.ts';

/**
 * Decode → parse → normalise → validate → store, for FHIR JSON (a Bundle of any type or one
 * resource) that a FHIR connector published to the FHIR inbound topic. Validation and storage
 * are the same steps HL7v2 goes through.
 */
export class FhirNormalizer {
  constructor(private readonly deps: NormalizerDeps) {}

  /** Normalises without storing (tests, `hub mapping test`). */
  map(envelope: InboundEnvelope): FhirMappingOutput & { charset: string } {
    const charset = envelope.charset?.toLowerCase() || 'utf-8';
    const text = inStage('decode', () => {
      try {
        return new TextDecoder(charset, { fatal: true }).decode(envelope.raw);
      } catch (err) {
        throw new HubError('FHIR_DECODE_FAILED', `cannot decode the body as ${charset}: ${(err as Error).message}`);
      }
    });
    const input = inStage('parse', () => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text.replace(/^\uFEFF/, '')) as unknown;
      } catch (err) {
        throw new HubError('FHIR_JSON_INVALID', `body is not JSON: ${(err as Error).message}`);
      }
      // Intake refuses these; a record from before that check (or from another writer) is
      // dead-lettered here with the path in the input, rather than failing every store attempt.
      const type = (parsed as { resourceType?: unknown } | null)?.resourceType;
      const unstorable = unstorableValueError(parsed, typeof type === 'string' ? type : '(root)');
      if (unstorable) throw unstorable;
      return parsed;
    });
    const out = inStage('map', () => {
      const mapped = mapFhirInput(input, {
        sourceSystem: envelope.sourceSystem, ...(envelope.controlId ? { controlId: envelope.controlId } : {}),
      }, fhirInputRules(this.deps.registry()), this.deps.settings);
      checkResourceCount(mapped.resources.length, this.deps.limits.maxResources);
      return mapped;
    });
    inStage('validate', () => validateMapped(out.resources, this.deps.validators, out.mappingFile));
    return { ...out, charset };
  }

  /** Decode, parse, normalise and validate: everything but the store write (the pipeline writes batches). */
  prepare(envelope: InboundEnvelope): PreparedMessage {
    const mapped = this.map(envelope);
    if (mapped.warnings.length) this.deps.log.debug({ controlId: mapped.controlId, warnings: mapped.warnings }, 'FHIR input warnings');
    return {
      mappingId: mapped.mappingId, mappingVersion: mapped.mappingVersion, messageType: mapped.messageType,
      charset: mapped.charset, resources: mapped.resources, warnings: mapped.warnings,
      ...(mapped.controlId ? { controlId: mapped.controlId } : {}), ...(mapped.patient ? { patient: mapped.patient } : {}),
    };
  }

  async process(envelope: InboundEnvelope): Promise<NormalizedMessage> {
    return storePrepared(this.deps.store, this.prepare(envelope));
  }
}

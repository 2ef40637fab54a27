import { expect } from 'chai';
import { CONTENT_TYPES, type InboundEnvelope } from '../../../hub/core/inboundEnvelope.ts';
import { silentLogger } from '../../../hub/core/logger.ts';
import { FhirNormalizer } from '../../../hub/pipeline/fhirNormalizer.ts';
import { Hl7v2Normalizer, MessageRejected, type NormalizerDeps, type PipelineLimits } from '../../../hub/pipeline/hl7v2Normalizer.ts';
import { basicResourceValidator } from '../../../hub/pipeline/resourceValidator.ts';
import type { ResourceStore } from '../../../hub/store/resourceStore.ts';
import { oruWithObx } from '../../support/largeOru.ts';
import { sampleMessage } from '../../connectors/hl7Samples.ts';
import { SETTINGS, shippedRegistry } from '../mapping/fhirGolden.ts';

// map() never touches the store: every refusal here happens before anything is written.
const deps = (limits: PipelineLimits): NormalizerDeps => ({
  store: {} as ResourceStore, registry: shippedRegistry, settings: SETTINGS, validators: [basicResourceValidator], limits, log: silentLogger(),
});
const DEFAULT_LIMITS = { maxSegments: 5000, maxResources: 2000 };

function envelope(contentType: InboundEnvelope['contentType'], raw: string): InboundEnvelope {
  return { connectorId: 'c', sourceSystem: 'LIS', receivedAt: '2026-05-01T00:00:00Z', contentType, raw: Buffer.from(raw) };
}

function rejection(fn: () => unknown): MessageRejected {
  try {
    fn();
  } catch (err) {
    if (err instanceof MessageRejected) return err;
    throw err;
  }
  throw new Error('expected the message to be rejected');
}

describe('the pipeline dead-letters messages beyond its bounds, before storing anything', () => {
  it('refuses a 10,000-OBX ORU at the parse stage within a second, naming the segment limit', () => {
    const normalizer = new Hl7v2Normalizer(deps(DEFAULT_LIMITS));
    const started = performance.now();
    const r = rejection(() => normalizer.map(envelope(CONTENT_TYPES.hl7v2, oruWithObx('BIG-2', 10_000))));
    expect(performance.now() - started).to.be.below(1000);
    expect(r.stage).to.equal('parse');
    expect(r.error.code).to.equal('HL7_TOO_MANY_SEGMENTS');
    expect(r.error.message).to.contain('pipeline.limits.maxSegments');
  });

  it('refuses a message that maps to more resources than allowed at the map stage', () => {
    const normalizer = new Hl7v2Normalizer(deps({ maxSegments: 5000, maxResources: 3 }));
    const r = rejection(() => normalizer.map(envelope(CONTENT_TYPES.hl7v2, oruWithObx('MANY-1', 5))));
    expect(r.stage).to.equal('map');
    expect(r.error.code).to.equal('PIPELINE_TOO_MANY_RESOURCES');
    expect(r.error.message).to.match(/maps to \d+ resources, more than the 3 /);
  });

  it('maps the same ORU within the limits', () => {
    const out = new Hl7v2Normalizer(deps(DEFAULT_LIMITS)).map(envelope(CONTENT_TYPES.hl7v2, oruWithObx('OK-1', 5)));
    expect(out.resources.filter((r) => r.resource.resourceType === 'Observation')).to.have.length(5);
  });

  it('refuses an HL7v2 NUL byte that reached Kafka, naming segment and field', () => {
    const r = rejection(() => new Hl7v2Normalizer(deps(DEFAULT_LIMITS)).map(envelope(CONTENT_TYPES.hl7v2, sampleMessage('NUL-2', { family: 'D\u0000E' }))));
    expect(r.stage).to.equal('parse');
    expect(r.error.code).to.equal('HL7_NUL_CHARACTER');
    expect(r.error.detail.hl7).to.deep.equal({ segment: 'PID', sequence: 3, field: 5 });
  });

  it('refuses an HL7v2 numeric result too large for a double, which would map to Infinity, at the validate stage', () => {
    const raw = oruWithObx('HUGE-1', 2).replace('||101|g/L', `||${'9'.repeat(400)}|g/L`);
    const r = rejection(() => new Hl7v2Normalizer(deps(DEFAULT_LIMITS)).map(envelope(CONTENT_TYPES.hl7v2, raw)));
    expect(r.stage).to.equal('validate');
    expect(r.error.code).to.equal('FHIR_NUMBER_NOT_FINITE');
    expect(r.error.detail.path).to.equal('Observation.valueQuantity.value');
  });

  it('refuses the poison Patient that reached Kafka before intake checked it, with the path', () => {
    const poison = '{"resourceType":"Patient","birthDate":"1980-01-01","multipleBirthInteger":1e400,"name":[{"family":"A\\u0000B"}]}';
    const r = rejection(() => new FhirNormalizer(deps(DEFAULT_LIMITS)).map(envelope(CONTENT_TYPES.fhirJson, poison)));
    expect(r.stage).to.equal('parse');
    expect(r.error.code).to.equal('FHIR_NUMBER_NOT_FINITE');
    expect(r.error.detail.path).to.equal('Patient.multipleBirthInteger');
  });

  it('refuses a FHIR Bundle that maps to more resources than allowed', () => {
    const entry = (i: number) => ({ resource: { resourceType: 'Patient', id: `p${i}`, identifier: [{ system: 'urn:mrn', value: `M${i}` }] } });
    const bundle = JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: [1, 2, 3, 4].map(entry) });
    const r = rejection(() => new FhirNormalizer(deps({ maxSegments: 5000, maxResources: 3 })).map(envelope(CONTENT_TYPES.fhirJson, bundle)));
    expect(r.stage).to.equal('map');
    expect(r.error.code).to.equal('PIPELINE_TOO_MANY_RESOURCES');
  });
});

import { expect } from 'chai';
import { CONTENT_TYPES, type InboundEnvelope } from '../../../hub/core/inboundEnvelope.ts';
import { silentLogger } from '../../../hub/core/logger.ts';
import { FhirNormalizer } from '../../../hub/pipeline/fhirNormalizer.ts';
import { MessageRejected } from '../../../hub/pipeline/hl7v2Normalizer.ts';
import { basicResourceValidator } from '../../../hub/pipeline/resourceValidator.ts';
import type { ResourceStore } from '../../../hub/store/resourceStore.ts';
import { fixtureText, SETTINGS, shippedRegistry } from '../mapping/fhirGolden.ts';

// map() never touches the store; storing is covered against FerretDB in fhirNormalizer.it.test.ts.
const unusedStore = {} as ResourceStore;
const normalizer = new FhirNormalizer({ store: unusedStore, registry: shippedRegistry, settings: SETTINGS, validators: [basicResourceValidator], limits: { maxSegments: 5000, maxResources: 2000 }, log: silentLogger() });

function envelope(raw: Buffer, charset?: string): InboundEnvelope {
  return { connectorId: 'emr-fhir', sourceSystem: 'EMR', receivedAt: '2026-11-23T00:00:00Z', contentType: CONTENT_TYPES.fhirJson, controlId: 'c-1', raw, ...(charset ? { charset } : {}) };
}

function rejection(fn: () => unknown): MessageRejected {
  try {
    fn();
  } catch (err) {
    if (err instanceof MessageRejected) return err;
    throw err;
  }
  throw new Error('expected the input to be rejected');
}

describe('FhirNormalizer.map (decode, parse, normalise, validate)', () => {
  const patient = fixtureText('fhir', 'patient-single.json');

  it('reads UTF-8 with or without a byte-order mark, and UTF-16 when the envelope says so', () => {
    const plain = normalizer.map(envelope(Buffer.from(patient)));
    const bom = normalizer.map(envelope(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(patient)])));
    const utf16 = normalizer.map(envelope(Buffer.from(patient, 'utf16le'), 'UTF-16LE'));
    expect(bom.resources).to.deep.equal(plain.resources);
    expect(utf16.resources).to.deep.equal(plain.resources);
    expect((plain.resources[0]!.resource as { name?: Array<{ family?: string }> }).name![0]!.family).to.equal('王');
    expect(plain.resources[0]!.resource.meta!.source).to.equal('urn:hub:identifier/source/EMR#c-1');
  });

  it('rejects bytes that are not valid in the declared charset at the decode stage', () => {
    const r = rejection(() => normalizer.map(envelope(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))));
    expect([r.stage, r.error.code]).to.deep.equal(['decode', 'FHIR_DECODE_FAILED']);
  });

  it('rejects a body that is not JSON at the parse stage', () => {
    const r = rejection(() => normalizer.map(envelope(Buffer.from('<Patient xmlns="http://hl7.org/fhir"/>'))));
    expect([r.stage, r.error.code]).to.deep.equal(['parse', 'FHIR_JSON_INVALID']);
  });

  it('rejects JSON that is not a FHIR resource at the map stage, naming the mapping', () => {
    const r = rejection(() => normalizer.map(envelope(Buffer.from('{"name": "not FHIR"}'))));
    expect([r.stage, r.error.code]).to.deep.equal(['map', 'FHIR_INPUT_INVALID']);
    expect(r.error.detail.mappingFile).to.equal('fhir/codemaps');
  });
});

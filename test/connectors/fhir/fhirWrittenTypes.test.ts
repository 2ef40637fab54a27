import { expect } from 'chai';
import { fhirWrittenTypes } from '../../../connectors/fhir/fhirWrittenTypes.ts';

describe('resource types a FHIR input writes', () => {
  it('is the resource itself for a single resource', () => {
    expect(fhirWrittenTypes({ resource: { resourceType: 'Patient' }, resourceType: 'Patient', resourceCount: 1 })).to.deep.equal([{ type: 'Patient', path: 'Patient' }]);
  });

  it('is every entry of a Bundle, not the Bundle, and a DELETE entry by its request URL', () => {
    const bundle = {
      resourceType: 'Bundle', type: 'transaction',
      entry: [
        { resource: { resourceType: 'Patient' } },
        { resource: { resourceType: 'Observation' } },
        { request: { method: 'DELETE', url: 'Encounter/e-1' } },
      ],
    };
    expect(fhirWrittenTypes({ resource: bundle, resourceType: 'Bundle', bundleType: 'transaction', resourceCount: 3 })).to.deep.equal([
      { type: 'Patient', path: 'Bundle.entry[0].resource' },
      { type: 'Observation', path: 'Bundle.entry[1].resource' },
      { type: 'Encounter', path: 'Bundle.entry[2].request.url' },
    ]);
  });
});

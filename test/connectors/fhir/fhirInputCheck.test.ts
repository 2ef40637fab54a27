import { expect } from 'chai';
import { checkFhirInput } from '../../../connectors/fhir/fhirInputCheck.ts';
import { observation, patient, transactionBundle } from './fhirSamples.ts';

const check = (v: unknown, options = {}) => checkFhirInput(Buffer.isBuffer(v) ? v : Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)), options);
const refusal = (v: unknown, options = {}) => {
  const r = check(v, options);
  if (r.ok) throw new Error('expected a refusal');
  return { status: r.problem.status, code: r.problem.error.code, path: r.problem.error.detail.path };
};

describe('FHIR intake checks', () => {
  it('passes a resource and a Bundle, counting what they carry', () => {
    const one = check(patient('p', 'M1'));
    const tx = check(transactionBundle('b', 'M1'));
    expect(one.ok && one.input).to.deep.include({ resourceType: 'Patient', resourceCount: 1 });
    expect(tx.ok && tx.input).to.deep.include({ resourceType: 'Bundle', bundleType: 'transaction', resourceCount: 3 });
  });

  it('accepts a UTF-8 byte order mark and refuses bytes that are not UTF-8', () => {
    expect(check(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(patient('p', 'M')))])).ok).to.equal(true);
    expect(refusal(Buffer.from([0x7b, 0xff, 0x7d]))).to.deep.include({ status: 400, code: 'FHIR_DECODE_FAILED' });
  });

  it('refuses JSON that is not a resource of a known R4 type', () => {
    expect(refusal('[1,2]')).to.deep.include({ status: 400, code: 'FHIR_JSON_INVALID' });
    expect(refusal({ id: 'x' })).to.deep.equal({ status: 400, code: 'FHIR_RESOURCE_TYPE_MISSING', path: 'resourceType' });
    expect(refusal({ resourceType: 'Project' })).to.deep.equal({ status: 422, code: 'FHIR_RESOURCE_TYPE_UNKNOWN', path: 'resourceType' });
  });

  it('names the entry of a Bundle that cannot be taken', () => {
    const bundle = (entry: unknown[], type = 'collection') => ({ resourceType: 'Bundle', type, entry });
    const obs = { resource: observation('o', 'Patient/p') };
    expect(refusal(bundle([obs, obs, { resource: { resourceType: 'Widget' } }]))).to.deep.equal({ status: 422, code: 'FHIR_RESOURCE_TYPE_UNKNOWN', path: 'Bundle.entry[2].resource.resourceType' });
    expect(refusal(bundle([obs, 'x']))).to.deep.equal({ status: 422, code: 'FHIR_BUNDLE_ENTRY_INVALID', path: 'Bundle.entry[1]' });
    expect(refusal(bundle([]))).to.deep.equal({ status: 422, code: 'FHIR_BUNDLE_EMPTY', path: 'Bundle.entry' });
    expect(refusal(bundle([obs], 'history'))).to.deep.equal({ status: 422, code: 'FHIR_BUNDLE_TYPE_UNSUPPORTED', path: 'Bundle.type' });
  });

  it('refuses values the store cannot hold with 400 naming their path, inside Bundles too', () => {
    const poison = '{"resourceType":"Patient","birthDate":"1980-01-01","multipleBirthInteger":1e400,"name":[{"family":"A\\u0000B"}]}';
    expect(refusal(poison)).to.deep.equal({ status: 400, code: 'FHIR_NUMBER_NOT_FINITE', path: 'Patient.multipleBirthInteger' });
    expect(refusal('{"resourceType":"Patient","name":[{"family":"A\\u0000B"}]}')).to.deep.equal({ status: 400, code: 'FHIR_NUL_CHARACTER', path: 'Patient.name[0].family' });
    const bundle = `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Observation","valueQuantity":{"value":-1e999}}}]}`;
    expect(refusal(bundle)).to.deep.equal({ status: 400, code: 'FHIR_NUMBER_NOT_FINITE', path: 'Bundle.entry[0].resource.valueQuantity.value' });
    expect(refusal({ resourceType: 'Patient', meta: { $set: 1 } })).to.deep.equal({ status: 400, code: 'FHIR_KEY_NOT_STORABLE', path: 'Patient.meta["$set"]' });
  });

  it('lets a transaction DELETE entry through without a resource', () => {
    const tx = { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'DELETE', url: 'Patient/1' } }, { resource: patient('p', 'M') }] };
    expect(check(tx).ok).to.equal(true);
  });

  it('holds an update to the type and id of its URL', () => {
    expect(check(patient('p-1', 'M'), { expect: { resourceType: 'Patient', id: 'p-1' } }).ok).to.equal(true);
    expect(refusal(patient('p-1', 'M'), { expect: { resourceType: 'Observation', id: 'p-1' } })).to.deep.include({ status: 400, code: 'FHIR_TYPE_MISMATCH' });
    expect(refusal({ resourceType: 'Patient' }, { expect: { resourceType: 'Patient', id: 'p-1' } })).to.deep.equal({ status: 400, code: 'FHIR_ID_MISMATCH', path: 'Patient.id' });
  });
});

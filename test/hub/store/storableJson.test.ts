import { expect } from 'chai';
import { unstorableValueError } from '../../../hub/store/storableJson.ts';

const parsed = (json: string): unknown => JSON.parse(json);

describe('values a MongoDB-wire store refuses, found with their path', () => {
  it('finds a number JSON parsed to Infinity (1e400) and names its element', () => {
    const err = unstorableValueError(parsed('{"resourceType":"Patient","multipleBirthInteger":1e400}'), 'Patient');
    expect(err?.code).to.equal('FHIR_NUMBER_NOT_FINITE');
    expect(err?.detail.path).to.equal('Patient.multipleBirthInteger');
    expect(err?.message).to.match(/^Patient\.multipleBirthInteger is Infinity/);
  });

  it('finds a negative infinity inside arrays', () => {
    const err = unstorableValueError(parsed('{"valueSampledData":{"data":"1"},"component":[{},{"valueQuantity":{"value":-1e400}}]}'), 'Observation');
    expect(err?.detail.path).to.equal('Observation.component[1].valueQuantity.value');
  });

  it('finds a NUL character in a string', () => {
    const err = unstorableValueError(parsed('{"name":[{"family":"A\\u0000B"}]}'), 'Patient');
    expect(err?.code).to.equal('FHIR_NUL_CHARACTER');
    expect(err?.detail.path).to.equal('Patient.name[0].family');
  });

  it('reports the first problem in document order when there are several', () => {
    const err = unstorableValueError(parsed('{"birthDate":"1980-01-01","multipleBirthInteger":1e400,"name":[{"family":"A\\u0000B"}]}'), 'Patient');
    expect(err?.detail.path).to.equal('Patient.multipleBirthInteger');
  });

  it('finds keys with a NUL, a leading $ or a dot, quoting them in the path', () => {
    expect(unstorableValueError(parsed('{"extension":[{"$where":"x"}]}'), 'Patient')?.detail.path).to.equal('Patient.extension[0]["$where"]');
    expect(unstorableValueError(parsed('{"a.b":1}'), 'Patient')).to.include({ code: 'FHIR_KEY_NOT_STORABLE' });
    const nulKey = unstorableValueError(parsed('{"meta":{"x\\u0000y":1}}'), 'Patient');
    expect(nulKey?.code).to.equal('FHIR_NUL_CHARACTER');
    expect(nulKey?.detail.path).to.equal('Patient.meta["x\\u0000y"]');
  });

  it('accepts ordinary FHIR, including $ and dots inside string values', () => {
    const ok = parsed('{"resourceType":"Observation","id":"o.1","valueQuantity":{"value":1.5e300},"note":[{"text":"costs $5. Fine."}],"_status":{"extension":[]}}');
    expect(unstorableValueError(ok, 'Observation')).to.equal(undefined);
  });

  it('walks nesting deeper than the call stack allows without overflowing', () => {
    const deep = `${'['.repeat(50_000)}1e400${']'.repeat(50_000)}`;
    const err = unstorableValueError(parsed(deep), 'x');
    expect(err?.code).to.equal('FHIR_NUMBER_NOT_FINITE');
  });
});

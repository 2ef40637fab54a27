import { expect } from 'chai';
import type { IndexCriterion, StoredResource } from '../../../hub/store/resourceStore.ts';
import { searchIndexFor } from '../../../hub/store/searchIndex.ts';
import { lookupConditionFor, lookupKeysOf, MAX_PREFIX } from '../../../hub/store/searchLookupKeys.ts';

const patient = {
  resourceType: 'Patient', id: 'p1',
  identifier: [{ system: 'urn:mrn', value: 'M1' }],
  name: [{ family: 'Müller', given: ['Jo'] }],
  birthDate: '1970-05-06',
  telecom: [{ system: 'phone', value: '555' }],
  gender: 'male',
} as StoredResource;

describe('search lookup keys', () => {
  const keys = lookupKeysOf(patient, searchIndexFor(patient));

  it('lists a string value under each normalized prefix from two characters', () => {
    expect(keys.filter((k) => k.startsWith('Patient|family|'))).to.deep.equal(
      ['mu', 'mul', 'mull', 'mulle', 'muller'].map((p) => `Patient|family|${p}`),
    );
    expect(keys).to.include.members(['Patient|given|jo', 'Patient|name|jo', 'Patient|name|muller']);
  });

  it('lists token values but never a bare system, and dates at year, month and day', () => {
    expect(keys).to.include.members(['Patient|identifier|M1', 'Patient|identifier|urn:mrn|M1', 'Patient|phone|555']);
    expect(keys).to.not.include('Patient|identifier|urn:mrn|');
    expect(keys).to.include.members(['Patient|birthdate|1970', 'Patient|birthdate|1970-05', 'Patient|birthdate|1970-05-06']);
    expect(keys.some((k) => k.startsWith('Patient|gender|'))).to.equal(false);
  });

  it('answers prefixes up to the listed length exactly and longer ones by their listed prefix', () => {
    const family = (value: string, mode: 'prefix' | 'exact' = 'prefix'): IndexCriterion => ({ param: 'family', anyOf: [{ kind: 'string', value, mode }] });
    expect(lookupConditionFor('Patient', family('MÜL'))).to.deep.equal({ keys: ['Patient|family|mul'], exact: true });
    const long = 'Schneiderhahn';
    expect(lookupConditionFor('Patient', family(long))).to.deep.equal({ keys: [`Patient|family|${long.toLowerCase().slice(0, MAX_PREFIX)}`], exact: false });
    expect(lookupConditionFor('Patient', family('mul', 'exact'))!.exact).to.equal(false);
    expect(lookupConditionFor('Patient', family('m'))).to.equal(undefined);
  });

  it('declines conditions lookups cannot answer', () => {
    expect(lookupConditionFor('Patient', { param: 'gender', anyOf: [{ kind: 'entry', value: 'male' }] })).to.equal(undefined);
    expect(lookupConditionFor('Patient', { param: 'identifier', anyOf: [{ kind: 'entry', value: 'M1' }], negate: true })).to.equal(undefined);
    expect(lookupConditionFor('Patient', { param: 'identifier', missing: true })).to.equal(undefined);
    expect(lookupConditionFor('Patient', { param: 'identifier', anyOf: [{ kind: 'entry', value: 'urn:mrn|' }] })).to.equal(undefined);
    expect(lookupConditionFor('Patient', { param: 'name', anyOf: [{ kind: 'string', value: 'ull', mode: 'contains' }] })).to.equal(undefined);
    expect(lookupConditionFor('Patient', { param: 'birthdate', anyOf: [{ kind: 'date', prefix: 'ge', range: { lo: '1970-01-01T00:00:00.000Z', hi: '1970-12-31T23:59:59.999Z' } }] })).to.equal(undefined);
    expect(lookupConditionFor('Encounter', { param: 'identifier', anyOf: [{ kind: 'entry', value: 'V1' }] })).to.equal(undefined);
  });

  it('answers a date equal to a whole day, month or year from the key of that precision', () => {
    const c = lookupConditionFor('Patient', { param: 'birthdate', anyOf: [{ kind: 'date', prefix: 'eq', range: { lo: '1970-05-01T00:00:00.000Z', hi: '1970-05-31T23:59:59.999Z' } }] });
    expect(c).to.deep.equal({ keys: ['Patient|birthdate|1970-05'], exact: false });
  });
});

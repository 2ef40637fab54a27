import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { Encounter, Patient } from 'fhir/r4.js';
import { DataProtection } from '../../../hub/crypto/dataProtection.ts';
import { buildKeyring } from '../../../hub/crypto/keyring.ts';
import { postingHasherOf } from '../../../hub/store/fieldProtector.ts';
import { compareKeys, criterionRanges, postingIdsOf, resourceIdOfPosting, type KeyRange } from '../../../hub/store/postingKeys.ts';
import type { IndexCriterion } from '../../../hub/store/resourceStore.ts';

const protection = new DataProtection(buildKeyring({ activeKey: 'k1', keys: [{ id: 'k1', key: randomBytes(32) }], hashKey: { id: 'h1', key: randomBytes(32) } }, 'test'));
const hasher = postingHasherOf(protection)!;

const patient: Patient & { id: string } = {
  resourceType: 'Patient', id: 'p1',
  identifier: [{ system: 'urn:oid:cn-id', value: '11010119900307001X' }, { system: 'urn:mrn', value: 'MRN7' }],
  name: [{ family: 'Quixborne', given: ['Zeldavine'] }],
  birthDate: '1990-03-07', gender: 'female',
  telecom: [{ system: 'phone', value: '13977665544' }],
  address: [{ line: ['Xylo Road 42'], city: 'Beijing' }],
  generalPractitioner: [{ reference: 'Practitioner/dr1' }],
};

const inRange = (key: string, r: KeyRange): boolean => compareKeys(key, r.gte) >= 0 && compareKeys(key, r.lt) < 0;
const found = (type: string, c: IndexCriterion, keys: string[]): string[] => {
  const ranges = criterionRanges(type, c, hasher)!;
  return [...new Set(keys.filter((k) => ranges.ranges.some((r) => inRange(k, r))).map(resourceIdOfPosting))];
};

describe('search postings of sealed types as keyed hashes', () => {
  const keys = postingIdsOf(patient, hasher);

  it('holds no name, number, phone or address line, while dates and references stay sortable text', () => {
    const all = keys.join('\n').toLowerCase();
    for (const v of ['quixborne', 'zeldavine', '11010119900307001x', 'mrn7', '13977665544', 'xylo', 'beijing']) expect(all).to.not.contain(v);
    expect(keys).to.include('Patient|birthdate|1990-03-07T00:00:00.000Z|p1');
    expect(keys).to.include('Patient|general-practitioner|Practitioner/dr1|p1');
    // token systems stay: `system|code` searches keep their meaning
    expect(keys.some((k) => k.startsWith('Patient|identifier|') && k.endsWith('|urn:oid:cn-id|p1'))).to.equal(true);
  });

  it('finds by exact identifier, with or without system, by phone, and by a whole name part in any case', () => {
    expect(found('Patient', { param: 'identifier', anyOf: [{ kind: 'entry', value: '11010119900307001X' }] }, keys)).to.deep.equal(['p1']);
    expect(found('Patient', { param: 'identifier', anyOf: [{ kind: 'entry', value: 'urn:oid:cn-id|11010119900307001X' }] }, keys)).to.deep.equal(['p1']);
    expect(found('Patient', { param: 'identifier', anyOf: [{ kind: 'entry', value: 'urn:mrn|11010119900307001X' }] }, keys)).to.deep.equal([]);
    expect(found('Patient', { param: 'telecom', anyOf: [{ kind: 'entry', value: '13977665544' }] }, keys)).to.deep.equal(['p1']);
    expect(found('Patient', { param: 'family', anyOf: [{ kind: 'string', value: 'QUIXBORNE', mode: 'prefix' }] }, keys)).to.deep.equal(['p1']);
    expect(found('Patient', { param: 'address', anyOf: [{ kind: 'string', value: 'xylo road 42', mode: 'exact' }] }, keys)).to.deep.equal(['p1']);
    expect(criterionRanges('Patient', { param: 'family', anyOf: [{ kind: 'string', value: 'quix', mode: 'prefix' }] }, hasher)!.exact).to.equal(true);
  });

  it('turns a prefix search into a whole-value match: a part of a name no longer finds it', () => {
    expect(found('Patient', { param: 'family', anyOf: [{ kind: 'string', value: 'quix', mode: 'prefix' }] }, keys)).to.deep.equal([]);
    expect(found('Patient', { param: 'identifier', anyOf: [{ kind: 'entry', value: '110101' }] }, keys)).to.deep.equal([]);
    // `:contains` and `system|` alone are not answered from postings either way
    expect(criterionRanges('Patient', { param: 'name', anyOf: [{ kind: 'string', value: 'ixb', mode: 'contains' }] }, hasher)).to.equal(undefined);
    expect(criterionRanges('Patient', { param: 'identifier', anyOf: [{ kind: 'entry', value: 'urn:mrn|' }] }, hasher)).to.equal(undefined);
  });

  it('leaves types it does not seal exactly as without encryption', () => {
    const encounter: Encounter & { id: string } = { resourceType: 'Encounter', id: 'e1', status: 'in-progress', class: { code: 'IMP' }, identifier: [{ value: 'VN1' }], subject: { reference: 'Patient/p1' } };
    expect(postingIdsOf(encounter, hasher)).to.deep.equal(postingIdsOf(encounter));
    const c: IndexCriterion = { param: 'identifier', anyOf: [{ kind: 'entry', value: 'VN1' }] };
    expect(criterionRanges('Encounter', c, hasher)).to.deep.equal(criterionRanges('Encounter', c));
  });
});

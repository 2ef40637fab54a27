import { expect } from 'chai';
import type { Patient } from 'fhir/r4.js';
import { compareKeys, criterionRanges, encodeKeyPart, mergeRanges, postingFamily, postingIdsOf, resourceIdOfPosting, type KeyRange } from '../../../hub/store/postingKeys.ts';
import type { IndexCriterion } from '../../../hub/store/resourceStore.ts';
import { fhirDateRange } from '../../../hub/store/fhirDateRange.ts';

const patient: Patient & { id: string } = {
  resourceType: 'Patient', id: 'p1',
  identifier: [{ system: 'urn:mrn', value: 'M|1' }],
  name: [{ family: 'Müller', given: ['Anna'] }],
  birthDate: '1970-05-06', gender: 'female',
  telecom: [{ system: 'phone', value: '13800138000' }],
  meta: { lastUpdated: '2026-01-02T03:04:05.000Z', tag: [{ system: 'urn:hub:mdm', code: 'GOLDEN_RECORD' }] },
};

const inRange = (key: string, r: KeyRange): boolean => compareKeys(key, r.gte) >= 0 && compareKeys(key, r.lt) < 0;
const found = (c: IndexCriterion, keys = postingIdsOf(patient)): string[] => {
  const ranges = criterionRanges('Patient', c)!;
  return [...new Set(keys.filter((k) => ranges.ranges.some((r) => inRange(k, r))).map(resourceIdOfPosting))];
};

describe('search postings as document keys', () => {
  it('posts each value once per family, escaping the separator, with the resource id last', () => {
    const keys = postingIdsOf(patient);
    expect(keys).to.include('Patient|family|muller|p1');
    expect(keys).to.include('Patient|identifier|M%7C1|urn:mrn|p1');
    expect(keys).to.include('Patient|gender|female||p1');
    expect(keys).to.include('Patient|birthdate|1970-05-06T00:00:00.000Z|p1');
    expect(keys.filter((k) => k.startsWith('Patient|birthdate>'))).to.deep.equal([]); // a day is narrow: its start is enough
    expect(keys).to.include('Patient|_tag|GOLDEN_RECORD|urn:hub:mdm|p1');
    expect(new Set(keys).size).to.equal(keys.length);
    expect(resourceIdOfPosting('Patient|identifier|M%7C1|urn:mrn|p1')).to.equal('p1');
    expect(encodeKeyPart('a|b%c')).to.equal('a%7Cb%25c');
  });

  it('shares one family between parameters that read the same elements', () => {
    expect(postingFamily('Observation', 'patient')).to.equal('subject');
    expect(postingFamily('Appointment', 'practitioner')).to.equal(postingFamily('Appointment', 'actor'));
    expect(postingFamily('Observation', 'value-quantity')).to.equal(undefined);
  });

  it('finds strings by prefix and exactly, tokens with and without system, across escapes', () => {
    expect(found({ param: 'family', anyOf: [{ kind: 'string', value: 'MÜL', mode: 'prefix' }] })).to.deep.equal(['p1']);
    expect(found({ param: 'family', anyOf: [{ kind: 'string', value: 'mul', mode: 'exact' }] })).to.deep.equal([]);
    expect(found({ param: 'family', anyOf: [{ kind: 'string', value: 'muller', mode: 'exact' }] })).to.deep.equal(['p1']);
    expect(found({ param: 'identifier', anyOf: [{ kind: 'entry', value: 'urn:mrn|M|1' }] })).to.deep.equal(['p1']);
    expect(found({ param: 'identifier', anyOf: [{ kind: 'entry', value: 'urn:other|M|1' }] })).to.deep.equal([]);
    expect(found({ param: 'gender', anyOf: [{ kind: 'entry', value: '|female' }] })).to.deep.equal(['p1']);
    expect(found({ param: '_tag', anyOf: [{ kind: 'entry', value: 'urn:hub:mdm|GOLDEN_RECORD' }] })).to.deep.equal(['p1']);
  });

  it('turns date prefixes into ranges that hold every match, narrow values by their start', () => {
    const day = fhirDateRange('1970-05-06')!;
    const date = (prefix: 'eq' | 'ge' | 'gt' | 'le' | 'lt' | 'sa' | 'eb', text: string): IndexCriterion => ({ param: 'birthdate', anyOf: [{ kind: 'date', prefix, range: fhirDateRange(text)! }] });
    expect(day.lo).to.equal('1970-05-06T00:00:00.000Z');
    expect(found(date('eq', '1970-05-06'))).to.deep.equal(['p1']);
    expect(found(date('eq', '1970'))).to.deep.equal(['p1']);
    expect(found(date('eq', '1971'))).to.deep.equal([]);
    expect(found(date('ge', '1970-05-06T12:00:00Z'))).to.deep.equal(['p1']); // the day ends after noon: found, then checked
    expect(found(date('lt', '1970-05-06'))).to.deep.equal([]);
    expect(found(date('le', '1970-05-06'))).to.deep.equal(['p1']);
    expect(found(date('sa', '1970-05-05'))).to.deep.equal(['p1']);
    expect(found(date('eb', '1970-05-07'))).to.deep.equal(['p1']);
    const year: Patient & { id: string } = { resourceType: 'Patient', id: 'p2', birthDate: '1980' };
    const keys = postingIdsOf(year);
    expect(keys).to.include('Patient|birthdate>|1980-12-31T23:59:59.999Z|p2'); // a year is wide: its end is posted too
    expect(found(date('ge', '1980-07-01'), keys)).to.deep.equal(['p2']);
    expect(found(date('gt', '1981'), keys)).to.deep.equal([]);
  });

  it('reads name parts and address parts from the parameters that post them, and phone from telecom', () => {
    const withAddress = { ...patient, address: [{ line: ['1 Fowl Lane'], city: 'Duckburg', postalCode: '12345' }] };
    const keys = postingIdsOf(withAddress);
    expect(keys.filter((k) => k.startsWith('Patient|name|'))).to.deep.equal([]); // family and given are posted once, under their own parameters
    expect(keys.filter((k) => k.startsWith('Patient|address|'))).to.deep.equal(['Patient|address|1 fowl lane|p1']);
    expect(keys.filter((k) => k.startsWith('Patient|phone|'))).to.deep.equal([]);
    expect(found({ param: 'name', anyOf: [{ kind: 'string', value: 'ann', mode: 'prefix' }] }, keys)).to.deep.equal(['p1']);
    expect(found({ param: 'address', anyOf: [{ kind: 'string', value: 'duck', mode: 'prefix' }] }, keys)).to.deep.equal(['p1']);
    expect(found({ param: 'address', anyOf: [{ kind: 'string', value: '1 fowl', mode: 'prefix' }] }, keys)).to.deep.equal(['p1']);
    const phone = criterionRanges('Patient', { param: 'phone', anyOf: [{ kind: 'entry', value: '13800138000' }] })!;
    expect(phone.exact, 'an email with the same value would be found too: checked in memory').to.equal(false);
    expect(found({ param: 'phone', anyOf: [{ kind: 'entry', value: '13800138000' }] }, keys)).to.deep.equal(['p1']);
  });

  it('leaves to the in-memory check what postings cannot answer', () => {
    expect(criterionRanges('Patient', { param: 'family', missing: true })).to.equal(undefined);
    expect(criterionRanges('Patient', { param: 'gender', anyOf: [{ kind: 'entry', value: 'male' }], negate: true })).to.equal(undefined);
    expect(criterionRanges('Patient', { param: 'name', anyOf: [{ kind: 'string', value: 'ann', mode: 'contains' }] })).to.equal(undefined);
    expect(criterionRanges('Patient', { param: 'identifier', anyOf: [{ kind: 'entry', value: 'urn:mrn|' }] })).to.equal(undefined);
    expect(criterionRanges('Observation', { param: 'value-quantity', anyOf: [{ kind: 'quantity', prefix: 'gt', value: 1, decimals: 0 }] })).to.equal(undefined);
  });

  it('merges overlapping ranges in the databases\' byte order', () => {
    expect(mergeRanges([{ gte: 'b', lt: 'd' }, { gte: 'a', lt: 'c' }, { gte: 'x', lt: 'y' }])).to.deep.equal([{ gte: 'a', lt: 'd' }, { gte: 'x', lt: 'y' }]);
    expect(compareKeys('\uFFFF', '\u{10000}')).to.be.lessThan(0); // UTF-16 would say the opposite
  });
});

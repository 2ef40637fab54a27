import { expect } from 'chai';
import { allHold, compareForSort, criterionHolds, type IndexedDoc } from '../../../hub/store/searchIndexMatch.ts';

const doc = (id: string, search: IndexedDoc['search'], sortKey?: IndexedDoc['sortKey']): IndexedDoc => ({ _id: id, ...(search ? { search } : {}), ...(sortKey ? { sortKey } : {}) });

describe('search criteria checked in memory', () => {
  const a = doc('a', { family: ['muller'], gender: ['male'], birthdate: { lo: '1970-05-06T00:00:00.000Z', hi: '1970-05-06T23:59:59.999Z' } });

  it('matches strings by prefix, exactly and by substring on normalized entries', () => {
    expect(criterionHolds(a, { param: 'family', anyOf: [{ kind: 'string', value: 'MÜL', mode: 'prefix' }] })).to.equal(true);
    expect(criterionHolds(a, { param: 'family', anyOf: [{ kind: 'string', value: 'mul', mode: 'exact' }] })).to.equal(false);
    expect(criterionHolds(a, { param: 'family', anyOf: [{ kind: 'string', value: 'LLE', mode: 'contains' }] })).to.equal(true);
  });

  it('treats :not, :missing and ne like the database filters do', () => {
    expect(criterionHolds(a, { param: 'gender', anyOf: [{ kind: 'entry', value: 'male' }], negate: true })).to.equal(false);
    expect(criterionHolds(a, { param: 'phone', anyOf: [{ kind: 'entry', value: '1' }], negate: true })).to.equal(true);
    expect(criterionHolds(a, { param: 'phone', missing: true })).to.equal(true);
    expect(criterionHolds(a, { param: 'gender', missing: true })).to.equal(false);
    const ne = { param: 'birthdate', anyOf: [{ kind: 'date' as const, prefix: 'ne' as const, range: { lo: '1970-05-06T00:00:00.000Z', hi: '1970-05-06T23:59:59.999Z' } }] };
    expect(criterionHolds(a, ne)).to.equal(false);
    expect(criterionHolds(doc('b', {}), ne)).to.equal(true);
  });

  it('compares date ranges with prefixes and requires every criterion', () => {
    const ge = { param: 'birthdate', anyOf: [{ kind: 'date' as const, prefix: 'ge' as const, range: { lo: '1970-01-01T00:00:00.000Z', hi: '1970-12-31T23:59:59.999Z' } }] };
    expect(allHold(a, [ge, { param: 'gender', anyOf: [{ kind: 'entry', value: 'male' }] }])).to.equal(true);
    expect(allHold(a, [ge, { param: 'gender', anyOf: [{ kind: 'entry', value: 'female' }] }])).to.equal(false);
    expect(criterionHolds(a, { param: 'family', anyOf: [] })).to.equal(false);
  });

  it('sorts missing keys first, then numbers, then strings, ties by id', () => {
    const docs = [doc('d', {}, { x: 'b' }), doc('c', {}, { x: 2 }), doc('b', {}), doc('a', {}, { x: 'b' })];
    expect([...docs].sort(compareForSort([{ param: 'x' }])).map((d) => d._id)).to.deep.equal(['b', 'c', 'a', 'd']);
    expect([...docs].sort(compareForSort([{ param: 'x', descending: true }])).map((d) => d._id)).to.deep.equal(['a', 'd', 'c', 'b']);
  });
});

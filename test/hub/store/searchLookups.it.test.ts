import { expect } from 'chai';
import { MongoClient, type Db } from 'mongodb';
import { MongoResourceStore } from '../../../hub/store/mongoResourceStore.ts';
import type { IndexCriterion, SearchQuery, StoredResource } from '../../../hub/store/resourceStore.ts';
import { MONGO_URL, uniqueName } from '../../support/testServices.ts';

const FAMILIES = ['Wang', 'Wangler', 'Müller', 'Mueller', 'Li', 'Lin', 'Schneiderhahn', 'Schneider', '张'];
const GIVEN = ['Wei', 'Anna', 'Annabel', 'Jun'];

function patient(i: number): StoredResource {
  return {
    resourceType: 'Patient', id: `p${String(i).padStart(3, '0')}`,
    identifier: [{ system: 'urn:mrn', value: `MRN${i % 37}` }],
    name: [{ family: FAMILIES[i % FAMILIES.length]!, given: [GIVEN[i % GIVEN.length]!] }],
    gender: i % 2 ? 'male' : 'female',
    birthDate: i % 5 === 0 ? `19${50 + (i % 3)}` : `19${50 + (i % 3)}-0${1 + (i % 2)}-1${i % 4}`,
    telecom: [{ system: 'phone', value: `555${i % 11}` }],
  } as StoredResource;
}

const str = (param: string, value: string, mode: 'prefix' | 'exact' | 'contains' = 'prefix'): IndexCriterion => ({ param, anyOf: [{ kind: 'string', value, mode }] });
const tok = (param: string, ...values: string[]): IndexCriterion => ({ param, anyOf: values.map((value) => ({ kind: 'entry' as const, value })) });

/** Queries a client could send, each with paging and totals. */
const QUERIES: Array<[string, IndexCriterion[], Partial<SearchQuery>]> = [
  ['family prefix', [str('family', 'wang')], {}],
  ['family prefix, page 2', [str('family', 'wang')], { offset: 5, count: 5 }],
  ['family longer than the listed prefixes', [str('family', 'Schneiderh')], {}],
  ['family accents', [str('family', 'MULLER')], {}],
  ['family exact', [str('family', 'Wang', 'exact')], { count: 3 }],
  ['name of any part', [str('name', 'anna')], { offset: 2, count: 4 }],
  ['han characters', [str('family', '张')], {}],
  ['given and gender', [str('given', 'wei'), tok('gender', 'male')], {}],
  ['family sorted by birthdate descending', [str('family', 'li')], { sortBy: [{ param: 'birthdate', descending: true }], offset: 1, count: 6 }],
  ['identifier system|value and bare', [tok('identifier', 'urn:mrn|MRN3', 'MRN4')], {}],
  ['identifier system only (never listed)', [tok('identifier', 'urn:mrn|')], { count: 4 }],
  ['phone', [tok('phone', '5557')], {}],
  ['birthdate year', [{ param: 'birthdate', anyOf: [{ kind: 'date', prefix: 'eq', range: { lo: '1951-01-01T00:00:00.000Z', hi: '1951-12-31T23:59:59.999Z' } }] }], {}],
  ['birthdate day', [{ param: 'birthdate', anyOf: [{ kind: 'date', prefix: 'eq', range: { lo: '1952-02-11T00:00:00.000Z', hi: '1952-02-11T23:59:59.999Z' } }] }], {}],
  ['family and a one-letter given (no lookup for it)', [str('family', 'wa'), str('given', 'a')], {}],
  ['count only', [str('family', 'wang')], { count: 0 }],
];

describe('search lookups: _id-keyed lists for selective parameters (real FerretDB)', function () {
  this.timeout(60_000);
  let mongo: MongoClient;
  const dbs: Db[] = [];
  let fast: MongoResourceStore;
  let scan: MongoResourceStore;
  const nonIdPatientQueries: string[] = [];

  before(async () => {
    mongo = await new MongoClient(MONGO_URL, { monitorCommands: true }).connect();
    const [a, b] = [mongo.db(uniqueName('lookups')), mongo.db(uniqueName('lookups_scan'))];
    dbs.push(a, b);
    fast = new MongoResourceStore(a);
    const writer = new MongoResourceStore(b);
    for (let i = 0; i < 60; i += 1) {
      await fast.write({ resource: patient(i) });
      await writer.write({ resource: patient(i) });
    }
    // the same data without lookups trusted: the query path
    await b.collection('search_lookups').deleteMany({});
    scan = new MongoResourceStore(b);
    mongo.on('commandStarted', (e) => {
      if (e.databaseName === a.databaseName && e.commandName === 'find' && e.command.find === 'Patient' && typeof e.command.filter?._id !== 'string') {
        nonIdPatientQueries.push(JSON.stringify(e.command.filter));
      }
    });
  });
  after(async () => {
    for (const db of dbs) await db.dropDatabase();
    await mongo.close();
  });

  for (const [what, where, rest] of QUERIES) {
    it(`answers like the query path: ${what}`, async () => {
      const query: SearchQuery = { criteria: [], where, total: true, ...rest };
      const expected = await scan.search('Patient', query);
      const actual = await fast.search('Patient', query);
      expect(actual.resources.map((r) => r.id)).to.deep.equal(expected.resources.map((r) => r.id));
      expect(actual.total).to.equal(expected.total);
      expect(await fast.entriesOf('Patient', query, '_id', 1000)).to.have.members(await scan.entriesOf('Patient', query, '_id', 1000));
    });
  }

  it('reads Patients only by _id for selective conditions', async () => {
    nonIdPatientQueries.length = 0;
    await fast.search('Patient', { criteria: [], where: [str('family', 'wang'), tok('gender', 'female')], total: true });
    await fast.search('Patient', { criteria: [], where: [tok('identifier', 'MRN5')], total: true, count: 2 });
    expect(nonIdPatientQueries).to.deep.equal([]);
    await fast.search('Patient', { criteria: [], where: [tok('gender', 'female')], count: 2 });
    expect(nonIdPatientQueries).to.have.length(1); // gender has no lookups: the query path
  });

  it('moves an id between lists when the value changes', async () => {
    await fast.write({ resource: { ...patient(1), name: [{ family: 'Zebedee' }] } as StoredResource });
    const byFamily = async (v: string) => (await fast.search('Patient', { criteria: [], where: [str('family', v)] })).resources.map((r) => r.id);
    expect(await byFamily('zebe')).to.deep.equal(['p001']);
    expect(await byFamily(FAMILIES[1]!)).to.not.include('p001');
    const list = await dbs[0]!.collection('search_lookups').findOne({ _id: `Patient|family|${FAMILIES[1]!.toLowerCase()}` as never });
    expect(list!.ids).to.not.include('p001');
  });

  it('marks a value shared by too many resources and answers it by query', async () => {
    const db = mongo.db(uniqueName('lookups_common'));
    dbs.push(db);
    const store = new MongoResourceStore(db, undefined, { maxLookupIds: 3 });
    for (let i = 0; i < 6; i += 1) await store.write({ resource: { ...patient(i), name: [{ family: 'Common', given: [`G${i}x`] }] } as StoredResource });
    const doc = await db.collection('search_lookups').findOne({ _id: 'Patient|family|common' as never });
    expect(doc).to.include({ tooCommon: true });
    expect(doc!.ids).to.deep.equal([]);
    const found = await store.search('Patient', { criteria: [], where: [str('family', 'common')], total: true, count: 4 });
    expect(found.total).to.equal(6);
    expect(found.resources.map((r) => r.id)).to.deep.equal(['p000', 'p001', 'p002', 'p003']);
    // the rare given name still narrows by lookup, the common family is checked on the candidates
    const both = await store.search('Patient', { criteria: [], where: [str('family', 'common'), str('given', 'g4x')], total: true });
    expect(both.resources.map((r) => r.id)).to.deep.equal(['p004']);
  });

  it('trusts lookups on data written before them only after reindex builds them', async () => {
    const db = mongo.db(uniqueName('lookups_legacy'));
    dbs.push(db);
    const legacy = patient(7);
    await db.collection('Patient').insertOne({ _id: legacy.id as never, resource: legacy, versionId: 1, lastUpdated: new Date(), contentHash: 'x' });
    const store = new MongoResourceStore(db);
    await store.write({ resource: patient(8) });
    expect(await db.collection('search_lookups').findOne({ _id: 'Patient|#complete' as never })).to.equal(null);
    await store.reindex('Patient');
    const fresh = new MongoResourceStore(db);
    const found = await fresh.search('Patient', { criteria: [], where: [tok('identifier', `MRN${7 % 37}`)], total: true });
    expect(found.resources.map((r) => r.id)).to.deep.equal(['p007']);
    expect(await db.collection('search_lookups').findOne({ _id: 'Patient|#complete' as never })).to.not.equal(null);
  });
});

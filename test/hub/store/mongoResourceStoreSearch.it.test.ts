import { expect } from 'chai';
import { MongoClient, type Db } from 'mongodb';
import { MongoResourceStore, SEARCH_INDEX_VERSION } from '../../../hub/store/mongoResourceStore.ts';
import type { StoredResource } from '../../../hub/store/resourceStore.ts';
import { MONGO_URL, uniqueName } from '../../support/testServices.ts';

const patient = (id: string, family: string, birthDate: string): StoredResource =>
  ({ resourceType: 'Patient', id, name: [{ family }], birthDate } as StoredResource);

describe('MongoResourceStore search entries (real FerretDB)', function () {
  this.timeout(20_000);
  let mongo: MongoClient;
  let db: Db;
  let store: MongoResourceStore;

  before(async () => {
    mongo = await new MongoClient(MONGO_URL).connect();
    db = mongo.db(uniqueName('store'));
    store = new MongoResourceStore(db);
  });
  after(async () => {
    await db.dropDatabase();
    await mongo.close();
  });

  it('keeps write outcomes as before: created, unchanged, updated with a new version', async () => {
    expect((await store.write({ resource: patient('a', 'Adams', '1970-01-01') })).outcome).to.equal('created');
    expect((await store.write({ resource: patient('a', 'Adams', '1970-01-01') })).outcome).to.equal('unchanged');
    const updated = await store.write({ resource: patient('a', 'Adamson', '1970-01-01') });
    expect(updated).to.include({ outcome: 'updated', versionId: '2' });
    const found = await store.search('Patient', { criteria: [], where: [{ param: 'family', anyOf: [{ kind: 'string', value: 'adamson', mode: 'exact' }] }] });
    expect(found.resources.map((r) => r.id)).to.deep.equal(['a']);
    expect((await store.search('Patient', { criteria: [], where: [{ param: 'family', anyOf: [{ kind: 'string', value: 'adams', mode: 'exact' }] }] })).resources).to.have.length(0);
  });

  it('sorts by a parameter with the id as tie-break, and lists distinct entries and ids of matches', async () => {
    await store.write({ resource: patient('b', 'Brown', '1960-05-05') });
    await store.write({ resource: patient('c', 'Brown', '1980-05-05') });
    const sorted = await store.search('Patient', { criteria: [], sortBy: [{ param: 'family' }, { param: 'birthdate', descending: true }] });
    expect(sorted.resources.map((r) => r.id)).to.deep.equal(['a', 'c', 'b']);
    expect((await store.entriesOf('Patient', { criteria: [] }, 'family', 10)).sort()).to.deep.equal(['adamson', 'brown']);
    expect((await store.entriesOf('Patient', { criteria: [] }, '_id', 2))).to.have.length(2);
    expect((await store.readMany('Patient', ['c', 'zz', 'b'])).map((r) => r.id).sort()).to.deep.equal(['b', 'c']);
  });

  it('reindexes documents written before search entries existed', async () => {
    await db.collection('Patient').insertOne({ _id: 'legacy' as never, resource: patient('legacy', 'Old', '1900'), versionId: 1, lastUpdated: new Date(), contentHash: 'x' });
    const byName = () => store.search('Patient', { criteria: [], where: [{ param: 'family', anyOf: [{ kind: 'string', value: 'old', mode: 'prefix' }] }] });
    expect((await byName()).resources).to.have.length(0);
    expect(await store.reindex('Patient')).to.equal(1);
    expect((await byName()).resources.map((r) => r.id)).to.deep.equal(['legacy']);
    expect((await db.collection('Patient').findOne({ _id: 'legacy' as never }))!.searchVersion).to.equal(SEARCH_INDEX_VERSION);
    expect(await store.reindex('Patient')).to.equal(0);
  });

  it('keeps the patient postings in step when a resource moves to another Patient', async () => {
    const obs = (subject: string): StoredResource => ({ resourceType: 'Observation', id: 'o1', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${subject}` } } as StoredResource);
    await store.write({ resource: obs('a') });
    expect((await store.inPatientCompartment('Observation', ['Patient/a'])).map((r) => r.id)).to.deep.equal(['o1']);
    await store.write({ resource: obs('b') });
    expect(await store.inPatientCompartment('Observation', ['Patient/a'])).to.have.length(0);
    expect((await store.inPatientCompartment('Observation', ['Patient/a', 'Patient/b'])).map((r) => r.id)).to.deep.equal(['o1']);
  });

  it('rebuilds patient postings when reindexing documents written without them', async () => {
    await db.collection('Encounter').insertOne({ _id: 'e-legacy' as never, resource: { resourceType: 'Encounter', id: 'e-legacy', status: 'finished', class: { code: 'IMP' }, subject: { reference: 'Patient/legacy' } }, versionId: 1, lastUpdated: new Date(), contentHash: 'x' });
    expect(await store.inPatientCompartment('Encounter', ['Patient/legacy'])).to.have.length(0);
    await store.reindex('Encounter');
    expect((await store.inPatientCompartment('Encounter', ['Patient/legacy'])).map((r) => r.id)).to.deep.equal(['e-legacy']);
  });
});

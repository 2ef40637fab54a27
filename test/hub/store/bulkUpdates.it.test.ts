import { expect } from 'chai';
import { MongoClient, type Db } from 'mongodb';
import { MONGO_URL, uniqueName } from '../../support/testServices.ts';

/**
 * The store's batches are bulk writes of hundreds of compare-and-set replaces and upserts (current
 * documents, history copies, source entries). FerretDB 1.24 kept each statement's query open
 * until the whole command ended, so one bulk write of 100 statements held every SQLite
 * connection of the database and waited for another: the server stopped answering that
 * database. Our build (scripts/ferretdb-build) closes each statement's query before it writes.
 */
describe('bulk updates of hundreds of documents (real MongoDB-wire server)', function () {
  this.timeout(60_000);
  let client: MongoClient;
  let db: Db;

  before(async () => {
    client = await new MongoClient(MONGO_URL).connect();
    db = client.db(uniqueName('bulk'));
  });
  after(async () => {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  });

  it('answers two concurrent bulk writes of 300 upserts and replaces each, and stays responsive', async () => {
    const coll = db.collection<{ _id: string; v: number }>('docs');
    await coll.insertMany(Array.from({ length: 300 }, (_, i) => ({ _id: `d${i}`, v: 0 })));
    const upserts = (prefix: string) => Array.from({ length: 300 }, (_, i) => ({ replaceOne: { filter: { _id: `${prefix}${i}` }, replacement: { v: 1 }, upsert: true } }));
    const replaces = Array.from({ length: 300 }, (_, i) => ({ replaceOne: { filter: { _id: `d${i}`, v: 0 }, replacement: { v: 2 } } }));
    const deadline = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the bulk writes did not finish in 30 s')), 30_000));
    const [a, b] = await Promise.race([Promise.all([coll.bulkWrite(upserts('u'), { ordered: false }), coll.bulkWrite(replaces, { ordered: false })]), deadline]);
    expect(a.upsertedCount).to.equal(300);
    expect(b.modifiedCount).to.equal(300);
    expect(await coll.findOne({ _id: 'd7' })).to.deep.equal({ _id: 'd7', v: 2 });
  });
});

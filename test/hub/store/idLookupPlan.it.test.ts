import { expect } from 'chai';
import { MongoClient, type Db } from 'mongodb';
import { MONGO_URL, uniqueName } from '../../support/testServices.ts';

/**
 * Reads, the patient 360 and compare-and-set writes all look documents up by `_id`
 * (hub/store/mongoResourceStore.ts). MongoDB serves those from its _id index; FerretDB 1.24's
 * SQLite backend does only with the build patch in scripts/services.sh. These tests read the
 * server's own query plan, so they hold on either server and fail if the patch is lost.
 */
interface ExplainReply {
  queryPlanner?: { Plan?: string[]; winningPlan?: unknown };
  serverInfo?: { ferretdbVersion?: string };
}

function usesIdIndex(reply: ExplainReply): boolean {
  if (reply.serverInfo?.ferretdbVersion !== undefined) {
    return (reply.queryPlanner?.Plan ?? []).some((line) => /SEARCH \S+ USING INDEX \S+__id_/.test(line));
  }
  return /IDHACK|EXPRESS_IXSCAN|IXSCAN/.test(JSON.stringify(reply.queryPlanner?.winningPlan ?? {}));
}

describe('Document lookups by _id (real MongoDB-wire server)', function () {
  this.timeout(30_000);
  let mongo: MongoClient;
  let db: Db;

  before(async () => {
    mongo = await new MongoClient(MONGO_URL).connect();
    db = mongo.db(uniqueName('idplan'));
    const docs = Array.from({ length: 500 }, (_, i) => ({ _id: `Patient-${i}` as unknown as never, versionId: 1, n: i }));
    await db.collection('Patient').insertMany(docs);
  });
  after(async () => {
    await db.dropDatabase();
    await mongo.close();
  });

  it('finds a current document by its id through the _id index', async () => {
    const reply = await db.command({ explain: { find: 'Patient', filter: { _id: 'Patient-7' } } }) as ExplainReply;
    expect(usesIdIndex(reply), JSON.stringify(reply.queryPlanner)).to.equal(true);
  });

  it('uses the _id index when the id comes with a version condition, as compare-and-set writes do', async () => {
    const reply = await db.command({ explain: { find: 'Patient', filter: { _id: 'Patient-7', versionId: 1 } } }) as ExplainReply;
    expect(usesIdIndex(reply), JSON.stringify(reply.queryPlanner)).to.equal(true);
  });

  it('still applies every other condition of the filter after the _id lookup', async () => {
    const coll = db.collection<{ _id: string; versionId: number; n: number }>('Patient');
    expect(await coll.findOne({ _id: 'Patient-7', versionId: 2 })).to.equal(null);
    const stale = await coll.replaceOne({ _id: 'Patient-7', versionId: 2 }, { versionId: 3, n: -1 });
    expect(stale.matchedCount).to.equal(0);
    const fresh = await coll.replaceOne({ _id: 'Patient-7', versionId: 1 }, { versionId: 2, n: 7 });
    expect(fresh.modifiedCount).to.equal(1);
    expect(await coll.findOne({ _id: 'Patient-7' })).to.deep.include({ versionId: 2, n: 7 });
    expect((await coll.deleteOne({ _id: 'Patient-8', versionId: 5 })).deletedCount).to.equal(0);
    expect((await coll.deleteOne({ _id: 'Patient-8', versionId: 1 })).deletedCount).to.equal(1);
    expect(await coll.countDocuments({ _id: 'Patient-8' })).to.equal(0);
  });
});

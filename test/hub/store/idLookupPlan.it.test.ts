import { expect } from 'chai';
import { MongoClient, ObjectId, type Db } from 'mongodb';
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
    return (reply.queryPlanner?.Plan ?? []).some((line) => /SEARCH \S+ USING INDEX \S+(__id_|_hub_id_text) /.test(line));
  }
  return /IDHACK|EXPRESS_IXSCAN|IXSCAN/.test(JSON.stringify(reply.queryPlanner?.winningPlan ?? {}));
}

/** On FerretDB, also that sort and limit ran in SQLite (MongoDB stops its index scan at the limit by itself). */
function sortAndLimitInIndex(reply: ExplainReply & { sortPushdown?: boolean; limitPushdown?: boolean }): boolean {
  if (reply.serverInfo?.ferretdbVersion === undefined) return !/"stage":"SORT"/.test(JSON.stringify(reply.queryPlanner?.winningPlan ?? {}));
  return reply.sortPushdown === true && reply.limitPushdown === true;
}

/** Strings whose JSON text escapes characters or sorts differently from the string itself. */
const AWKWARD = ['a', 'a b', 'a!', 'a"q', 'a&b', 'a<b', 'a>b', 'a\\b', 'a\u0001', 'a\u007f', 'ab', 'a~', 'é', '张三', '张', '😀', 'z', 'Z', 'a|b', 'a|', ''];

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

  it('looks a list of ids up through the _id index', async () => {
    const reply = await db.command({ explain: { find: 'Patient', filter: { _id: { $in: ['Patient-7', 'Patient-9', 'missing'] } } } }) as ExplainReply;
    expect(usesIdIndex(reply), JSON.stringify(reply.queryPlanner)).to.equal(true);
    const found = await db.collection<{ _id: string }>('Patient').find({ _id: { $in: ['Patient-7', 'Patient-9', 'missing'] } }).toArray();
    expect(found.map((d) => d._id).sort()).to.deep.equal(['Patient-7', 'Patient-9']);
  });

  it('reads an _id range in order through an index, sorting and limiting there too', async () => {
    const filter = { _id: { $gte: 'Patient-1', $lt: 'Patient-2' } };
    const reply = await db.command({ explain: { find: 'Patient', filter, sort: { _id: 1 }, limit: 5 } }) as ExplainReply;
    expect(usesIdIndex(reply), JSON.stringify(reply.queryPlanner)).to.equal(true);
    expect(sortAndLimitInIndex(reply), JSON.stringify(reply)).to.equal(true);
    const page = await db.collection<{ _id: string }>('Patient').find(filter).sort({ _id: 1 }).skip(3).limit(4).toArray();
    const expected = Array.from({ length: 500 }, (_, i) => `Patient-${i}`).filter((id) => id >= 'Patient-1' && id < 'Patient-2').sort().slice(3, 7);
    expect(page.map((d) => d._id)).to.deep.equal(expected);
    const last = await db.collection<{ _id: string }>('Patient').find(filter).sort({ _id: -1 }).limit(2).toArray();
    expect(last.map((d) => d._id)).to.deep.equal(['Patient-199', 'Patient-198']);
  });

  it('ranges, pages and counts strings whose JSON text sorts differently, exactly as MongoDB orders them', async () => {
    const coll = db.collection<{ _id: string | ObjectId }>('awkward');
    await coll.insertMany(AWKWARD.flatMap((a) => AWKWARD.map((b) => ({ _id: `${a}|${b}` }))));
    await coll.insertOne({ _id: new ObjectId() }); // another type in the same collection is never counted in a string range
    const ids = AWKWARD.flatMap((a) => AWKWARD.map((b) => `${a}|${b}`));
    const byteOrder = (x: string, y: string) => Buffer.compare(Buffer.from(x), Buffer.from(y));
    for (const lo of AWKWARD) {
      for (const hi of AWKWARD) {
        const expected = ids.filter((id) => byteOrder(id, lo) >= 0 && byteOrder(id, hi) < 0).sort(byteOrder);
        const filter = { _id: { $gte: lo, $lt: hi } };
        const counted = await db.command({ count: 'awkward', query: filter }) as { n: number };
        expect(counted.n, `count [${JSON.stringify(lo)}, ${JSON.stringify(hi)})`).to.equal(expected.length);
        const capped = await db.command({ count: 'awkward', query: filter, limit: 5 }) as { n: number };
        expect(capped.n, `count with limit 5 [${JSON.stringify(lo)}, ${JSON.stringify(hi)})`).to.equal(Math.min(5, expected.length));
        const firstThree = await coll.find(filter).sort({ _id: 1 }).limit(3).toArray();
        expect(firstThree.map((d) => d._id), `page [${JSON.stringify(lo)}, ${JSON.stringify(hi)})`).to.deep.equal(expected.slice(0, 3));
      }
    }
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

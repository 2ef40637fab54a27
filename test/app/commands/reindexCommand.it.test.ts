import { expect } from 'chai';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { MongoClient, type Db } from 'mongodb';
import { PROJECT_ROOT } from '../../../hub/core/schemaValidator.ts';
import { MongoResourceStore } from '../../../hub/store/mongoResourceStore.ts';
import { MONGO_URL, uniqueName } from '../../support/testServices.ts';

const run = promisify(execFile);

describe('hub reindex against FerretDB', function () {
  this.timeout(60_000);
  let client: MongoClient;
  let db: Db;
  const database = uniqueName('reindex');

  before(async () => {
    client = await new MongoClient(MONGO_URL).connect();
    db = client.db(database);
  });
  after(async () => {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  });

  it('makes resources an older hub stored findable by search, and says how many it did', async () => {
    // as an older hub left it: no postings, the retired search entries inline
    await db.collection('Patient').insertOne({
      _id: 'old-1' as never, resource: { resourceType: 'Patient', id: 'old-1', name: [{ family: 'Oldfield' }] }, versionId: 1,
      lastUpdated: new Date(), contentHash: 'x', search: { family: ['oldfield'] },
    });
    const store = new MongoResourceStore(db);
    const byName = () => store.search('Patient', { criteria: [], where: [{ param: 'family', anyOf: [{ kind: 'string', value: 'oldf', mode: 'prefix' }] }] });
    expect((await byName()).resources).to.have.length(0);
    const env = { ...process.env, MONGO_URL, MONGO_DB: database, HUB_LOG_LEVEL: 'silent' };
    const { stdout, stderr } = await run(process.execPath, [path.join(PROJECT_ROOT, 'bin/hub.mjs'), 'reindex', 'Patient'], { env });
    expect(stderr).to.include('Patient: 1 reindexed');
    expect(stdout).to.match(/^reindexed 1 resources in [\d.]+ s/);
    expect((await byName()).resources.map((r) => r.id)).to.deep.equal(['old-1']);
    expect(await db.collection('Patient').findOne({ _id: 'old-1' as never })).to.not.have.property('search');
  });

  it('prints its help and does nothing else, and names an unknown type', async () => {
    const { stdout } = await run(process.execPath, [path.join(PROJECT_ROOT, 'bin/hub.mjs'), 'reindex', '--help']);
    expect(stdout).to.match(/^usage: hub reindex/);
    const refused = await run(process.execPath, [path.join(PROJECT_ROOT, 'bin/hub.mjs'), 'reindex', 'Nope']).catch((e: { code: number; stderr: string }) => e);
    expect((refused as { code: number }).code).to.equal(2);
    expect((refused as { stderr: string }).stderr).to.include('not a searchable type: Nope');
  });
});

import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Patient } from 'fhir/r4.js';
import { BSON, MongoClient, type Db } from 'mongodb';
import { runKeys } from '../../../app/commands/keysCommand.ts';
import { silentLogger } from '../../../hub/core/logger.ts';
import { DataProtection, loadDataProtection } from '../../../hub/crypto/dataProtection.ts';
import { sealedKeyId } from '../../../hub/crypto/fieldCipher.ts';
import { buildKeyring } from '../../../hub/crypto/keyring.ts';
import { createPatientIndex } from '../../../hub/mpi/createPatientIndex.ts';
import type { FieldProtector } from '../../../hub/store/fieldProtector.ts';
import { MongoResourceStore } from '../../../hub/store/mongoResourceStore.ts';
import { MongoSourceMessageLog } from '../../../hub/store/mongoSourceMessageLog.ts';
import type { StoredResource } from '../../../hub/store/resourceStore.ts';
import { isolatedConfig, MONGO_URL } from '../../support/testServices.ts';
import { liSiHis, zhangSanHis, zhangSanLis } from '../../hub/mpi/patientFixtures.ts';

const SECRETS = ['张', '李', '110101199003077774', '11010519851120002X', '13800138000', '13900139000', '朝阳路', 'MRN100001'];

async function dump(db: Db): Promise<string> {
  const out: string[] = [];
  for (const { name } of await db.listCollections().toArray()) {
    for (const doc of await db.collection(name).find({}).toArray()) out.push(`${name} ${BSON.EJSON.stringify(doc)}`);
  }
  return out.join('\n');
}

/** Every sealed value in the database and the key it names. */
async function sealedKeys(db: Db): Promise<string[]> {
  const ids: string[] = [];
  const visit = (v: unknown): void => {
    if (v instanceof BSON.Binary && v.sub_type === 0 && v.buffer[0] === 1 && v.buffer.length > 30) {
      try { ids.push(sealedKeyId(Buffer.from(v.buffer))); } catch { /* a clear binary */ }
    } else if (v && typeof v === 'object') for (const x of Object.values(v)) visit(x);
  };
  for (const { name } of await db.listCollections().toArray()) for (const doc of await db.collection(name).find({}).toArray()) visit(doc);
  return ids;
}

describe('hub keys: enable encryption on a stored database, then rotate the data key (real FerretDB)', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'hub-keys-'));
  const keyFile = path.join(dir, 'keys.json');
  const config = isolatedConfig({ 'encryption.enabled': true, 'encryption.keyFile': keyFile });
  let mongo: MongoClient;
  let db: Db;
  let out: string[] = [];
  const run = (...args: string[]) => runKeys(args, { config, out: (t) => out.push(t) });

  async function storeAndIndex(protection?: FieldProtector) {
    const opts = protection ? { protection } : {};
    const store = new MongoResourceStore(db, opts);
    const index = await createPatientIndex({ db, store, log: silentLogger(), ...opts });
    return { store, index };
  }

  before(async () => {
    mongo = await new MongoClient(MONGO_URL).connect();
    db = mongo.db(config.mongo.database);
  });
  after(async () => {
    await db.dropDatabase().catch(() => undefined);
    await mongo.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => { out = []; });

  it('seals what was stored in clear before encryption was on, and searches keep working', async () => {
    const clear = await storeAndIndex();
    for (const p of [zhangSanHis(), zhangSanLis(), liSiHis()]) {
      await clear.store.write({ resource: p as StoredResource });
      await clear.index.indexSource(p.id);
    }
    await new MongoSourceMessageLog(db).record({
      id: 'm1', sourceSystem: 'HIS', connectorId: 'c', contentType: 'application/hl7-v2', receivedAt: new Date().toISOString(), processedAt: new Date().toISOString(),
      raw: Buffer.from('PID|1||MRN100001||张^三'), status: 'processed', resources: [],
    });
    expect(await dump(db)).to.contain('110101199003077774');

    expect(await run('init', keyFile)).to.equal(0);
    expect(await run('rotate', '--dry-run')).to.equal(0);
    expect(out.at(-1)).to.match(/^would bring [1-9]\d* value\(s\) under key k-/);
    expect(await dump(db)).to.contain('110101199003077774');

    out = [];
    expect(await run('rotate')).to.equal(0);
    expect(out.join('\n')).to.match(/Patient\s+resealed\s+0\s+sealed\s+[1-9]/);
    const text = await dump(db);
    for (const s of SECRETS) expect(text, s).to.not.contain(s);

    const protection = (await loadDataProtection(config.encryption))!;
    const sealed = await storeAndIndex(protection);
    const byId = await sealed.store.search('Patient', { criteria: [], where: [{ param: 'identifier', anyOf: [{ kind: 'entry', value: '110101199003077774' }] }] });
    expect(byId.resources.map((r) => r.id)).to.include.members(['his-zs', 'lis-zs']);
    expect(((await sealed.store.read('Patient', 'his-zs')) as Patient).name?.[0]?.family).to.equal('张');
    expect((await new MongoSourceMessageLog(db, undefined, protection).get('m1'))!.raw.toString()).to.contain('张');
    // the patient index finds candidates through the hashed blocking keys
    const entry = (await sealed.index.repo.getSource('his-zs'))!;
    expect(await sealed.index.repo.candidateIds(entry.keys, 'his-zs', 10, 100)).to.include('lis-zs');
    expect((await sealed.index.indexSource('lis-zs')).golden).to.equal(await sealed.index.goldenOf('his-zs'));
  });

  it('rotates: a new active key, old data sealed again with it, then readable without the old key', async () => {
    const first = (await loadDataProtection(config.encryption))!;
    const oldKey = first.cipher.activeKeyId;
    expect(new Set(await sealedKeys(db))).to.deep.equal(new Set([oldKey]));

    expect(await run('add', keyFile)).to.equal(0);
    const second = (await loadDataProtection(config.encryption))!;
    const newKey = second.cipher.activeKeyId;
    expect(newKey).to.not.equal(oldKey);
    // new writes use the new key while old values still open
    const { store } = await storeAndIndex(second);
    expect((await store.read('Patient', 'his-ls') as Patient).name?.[0]?.family).to.equal('李');

    out = [];
    expect(await run('rotate')).to.equal(0);
    expect(out.join('\n')).to.match(/Patient\s+resealed\s+[1-9]\d*\s+sealed\s+0/);
    expect(new Set(await sealedKeys(db))).to.deep.equal(new Set([newKey]));
    out = [];
    expect(await run('rotate')).to.equal(0);
    expect(out.at(-1)).to.match(/^brought 0 value/);
    // the old key can go: a keyring with the new key alone reads everything
    const alone = new DataProtection(buildKeyring({ activeKey: newKey, keys: [{ id: newKey, key: second.keyring.keys.get(newKey)! }], hashKey: second.keyring.hashKey }, 'new key only'));
    const fresh = await storeAndIndex(alone);
    expect((await fresh.store.read('Patient', 'his-zs') as Patient).name?.[0]?.family).to.equal('张');
    expect((await fresh.store.readVersion('Patient', 'his-zs', '1') as Patient).birthDate).to.equal('1990-03-07');
    expect((await new MongoSourceMessageLog(db, undefined, alone).get('m1'))!.raw.toString()).to.contain('张');
    expect((await fresh.index.repo.getSource('his-ls'))!.features.phones).to.deep.equal(['13900139000']);
  });
});

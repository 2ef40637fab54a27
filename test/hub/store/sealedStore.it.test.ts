import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { Patient } from 'fhir/r4.js';
import { BSON, type Db } from 'mongodb';
import { DataProtection } from '../../../hub/crypto/dataProtection.ts';
import { buildKeyring } from '../../../hub/crypto/keyring.ts';
import { mergeGoldens, unmerge } from '../../../hub/mpi/patientMerges.ts';
import { MongoResourceStore } from '../../../hub/store/mongoResourceStore.ts';
import { MongoSourceMessageLog } from '../../../hub/store/mongoSourceMessageLog.ts';
import type { StoredResource } from '../../../hub/store/resourceStore.ts';
import { MpiTestBed } from '../mpi/mpiTestBed.ts';
import { liSiHis, zhangSanHis, zhangSanLis } from '../mpi/patientFixtures.ts';

const k1 = { id: 'k1', key: randomBytes(32) };
const hashKey = { id: 'h1', key: randomBytes(32) };
const protection = new DataProtection(buildKeyring({ activeKey: 'k1', keys: [k1], hashKey }, 'test'));

/** Every document of every collection as extended JSON: what a dump of the database shows. */
async function dump(db: Db): Promise<string> {
  const out: string[] = [];
  for (const { name } of await db.listCollections().toArray()) {
    for (const doc of await db.collection(name).find({}).toArray()) out.push(`${name} ${BSON.EJSON.stringify(doc)}`);
  }
  return out.join('\n');
}

const SECRETS = ['张', 'ZHANG', 'zhang', '110101199003077774', '13800138000', '138 0013 8000', '朝阳路', '李', '11010519851120002X', '13900139000', 'MRN100001', 'L-5521'];

describe('stores with encryption at rest (real FerretDB)', function () {
  this.timeout(60_000);
  let bed: MpiTestBed;
  before(async () => { bed = await new MpiTestBed(protection).start(); });
  after(() => bed.stop());

  it('stores sealed Patients the API reads back in clear, found by exact identifier, phone and whole name', async () => {
    const golden = await bed.receive(zhangSanHis());
    expect(await bed.receive(zhangSanLis())).to.equal(golden);
    const read = await bed.store.read('Patient', 'his-zs') as Patient;
    expect(read.name?.[0]?.family).to.equal('张');
    expect(read.identifier?.map((i) => i.value)).to.include('110101199003077774');
    const search = (param: string, value: string, kind: 'entry' | 'string' = 'entry') =>
      bed.store.search('Patient', { criteria: [], where: [{ param, anyOf: [kind === 'entry' ? { kind, value } : { kind, value, mode: 'prefix' }] }] }).then((r) => r.resources.map((x) => x.id).sort());
    expect(await search('identifier', '110101199003077774')).to.deep.equal([golden, 'his-zs', 'lis-zs'].sort());
    expect(await search('identifier', 'urn:lis|L-5521')).to.deep.equal([golden, 'lis-zs'].sort());
    expect(await search('identifier', 'urn:pacs|L-5521')).to.deep.equal([]);
    expect(await search('phone', '13800138000')).to.deep.equal(['lis-zs']);
    expect(await search('phone', '+86 138 0013 8000')).to.deep.equal([golden, 'his-zs'].sort());
    expect(await search('family', '张', 'string')).to.deep.equal([golden, 'his-zs', 'lis-zs'].sort());
    expect(await search('family', 'zhan', 'string')).to.deep.equal([]);
    // the golden record is found by its tag: token postings of sealed types are exact-match hashes
    const goldens = await bed.store.search('Patient', { criteria: [], where: [{ param: '_tag', anyOf: [{ kind: 'entry', value: 'urn:hub:mdm|GOLDEN_RECORD' }] }] });
    expect(goldens.resources.map((r) => r.id)).to.deep.equal([golden]);
  });

  it('keeps versions: identical content is unchanged (keyed content hash), a change is a new sealed version', async () => {
    const p = zhangSanHis() as StoredResource;
    expect((await bed.store.write({ resource: p })).outcome).to.equal('unchanged');
    const moved = { ...p, telecom: [{ system: 'phone', value: '13811112222' }] } as StoredResource;
    expect(await bed.store.write({ resource: moved })).to.include({ outcome: 'updated', versionId: '2' });
    expect((await bed.store.readVersion('Patient', 'his-zs', '1') as Patient).telecom?.[0]?.value).to.equal('+86 138 0013 8000');
    const history = await bed.store.historyPage('Patient', { id: 'his-zs', offset: 0, count: 10, total: true });
    expect(history.resources.map((r) => r.meta?.versionId)).to.deep.equal(['2', '1']);
    const all = await bed.store.historyPage('Patient', { offset: 0, count: 50 });
    expect(all.resources.every((r) => typeof r.resourceType === 'string')).to.equal(true);
    // back as it was: the phone posting moves back too
    await bed.store.write({ resource: p });
    expect((await bed.store.search('Patient', { criteria: [], where: [{ param: 'phone', anyOf: [{ kind: 'entry', value: '13811112222' }] }] })).resources).to.have.length(0);
    const doc = await bed.db.collection('Patient').findOne({ _id: 'his-zs' as never });
    expect(doc).to.not.have.property('resource');
    expect(doc!.sealed).to.have.property('buffer');
    expect(doc!.contentHash).to.match(/^[A-Za-z0-9_-]{22}$/);
    expect(await bed.store.repair([{ type: 'Patient', id: 'his-zs' }])).to.equal(0);
  });

  it('merges and unmerges with the golden Patients of the snapshot sealed', async () => {
    const gz = await bed.index.goldenOf('his-zs');
    const gl = await bed.receive(liSiHis());
    const r = await mergeGoldens(bed.index, gl, gz!, 'clerk', 'test');
    const stored = await bed.db.collection('mpi_merges').findOne({ _id: r.mergeId as never });
    expect(stored!.goldenBefore).to.deep.equal({});
    expect((await bed.index.repo.getMerge(r.mergeId))!.goldenBefore).to.have.property(gl!);
    await unmerge(bed.index, r.mergeId, 'clerk', 'test');
    expect(await bed.index.goldenOf('his-ls')).to.equal(gl);
  });

  it('keeps raw source messages sealed, with their notes, and gives them back whole', async () => {
    const log = new MongoSourceMessageLog(bed.db, bed.store, protection);
    const raw = Buffer.from('MSH|^~\\&|HIS|H\rPID|1||MRN100001^^^H^MR||张^三', 'utf8');
    await log.record({
      id: 'm1', sourceSystem: 'HIS', connectorId: 'c', contentType: 'application/hl7-v2', receivedAt: new Date().toISOString(), processedAt: new Date().toISOString(),
      raw, status: 'dead-lettered', resources: [], error: { code: 'X', message: 'PID-5 张 is odd' }, warnings: ['MRN100001'],
    });
    const back = await log.get('m1');
    expect(back!.raw.equals(raw)).to.equal(true);
    expect(back!.error?.message).to.equal('PID-5 张 is odd');
    expect(back!.warnings).to.deep.equal(['MRN100001']);
    // a store started without the key refuses what is sealed rather than serving ciphertext
    const clear = new MongoSourceMessageLog(bed.db);
    try {
      await clear.get('m1');
      expect.fail('read without the key');
    } catch (err) {
      expect((err as { code?: string }).code).to.equal('STORE_SEALED_NO_KEY');
    }
    try {
      await new MongoResourceStore(bed.db).read('Patient', 'his-zs');
      expect.fail('read without the key');
    } catch (err) {
      expect((err as { code?: string }).code).to.equal('STORE_SEALED_NO_KEY');
    }
  });

  it('leaves no name, ID card number, phone, address or MRN readable in any collection', async () => {
    const text = await dump(bed.db);
    expect(text.length).to.be.greaterThan(1000);
    for (const s of SECRETS) expect(text, s).to.not.contain(s);
    // types that name nobody stay as they were, so the check above is not vacuous for them
    await bed.store.write({ resource: { resourceType: 'Encounter', id: 'e1', status: 'finished', class: { code: 'IMP' }, subject: { reference: 'Patient/his-zs' }, identifier: [{ value: 'VN-CLEAR-1' }] } as StoredResource });
    expect(await dump(bed.db)).to.contain('VN-CLEAR-1');
  });
});

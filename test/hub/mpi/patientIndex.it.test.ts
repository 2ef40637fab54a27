import { expect } from 'chai';
import type { Patient } from 'fhir/r4.js';
import { isGoldenPatient } from '../../../hub/mpi/survivorship.ts';
import { MpiTestBed } from './mpiTestBed.ts';
import { liSiHis, patient, zhangSanHis, zhangSanLis, zhangSanPacs } from './patientFixtures.ts';

describe('patient index on FerretDB: incremental matching and golden records', function () {
  this.timeout(30_000);
  const bed = new MpiTestBed();
  before(() => bed.start());
  after(() => bed.stop());

  let golden = '';

  it('creates a golden Patient for the first record of a person', async () => {
    golden = await bed.receive(zhangSanHis());
    const g = await bed.store.read('Patient', golden) as Patient;
    expect(isGoldenPatient(g)).to.equal(true);
    expect(g.link).to.deep.equal([{ other: { reference: 'Patient/his-zs' }, type: 'seealso' }]);
    expect(await bed.index.goldenOf('his-zs')).to.equal(golden);
  });

  it('links the LIS and the pinyin PACS records of that person to the same golden Patient', async () => {
    expect(await bed.receive(zhangSanLis())).to.equal(golden);
    expect(await bed.receive(zhangSanPacs())).to.equal(golden);
    expect(await bed.index.sourcesOf(golden)).to.have.members(['his-zs', 'lis-zs', 'pacs-zs']);
    const link = await bed.index.repo.getLink('pacs-zs');
    expect(link).to.include({ state: 'MATCH', linkSource: 'AUTO', who: 'system' });
    expect(link!.fields!.find((f) => f.field === 'name')?.level).to.be.oneOf(['exact', 'pinyin']);
  });

  it('keeps a different person under a golden Patient of her own', async () => {
    const other = await bed.receive(liSiHis());
    expect(other).to.not.equal(golden);
    expect(await bed.index.sourcesOf(other)).to.deep.equal(['his-ls']);
  });

  it('derives the golden Patient by survivorship and never alters the sources', async () => {
    const g = await bed.store.read('Patient', golden) as Patient;
    expect(g.name?.[0]?.family).to.equal('张'); // HIS is the most trusted source
    expect(g.birthDate).to.equal('1990-03-07'); // not the PACS transposition
    expect(g.identifier!.map((i) => i.value)).to.include.members(['MRN100001', 'L-5521', 'P-77']);
    const pacs = await bed.store.read('Patient', 'pacs-zs') as Patient;
    expect(pacs.birthDate).to.equal('1990-07-03');
    expect(pacs.link).to.equal(undefined);
  });

  it('recomputes the golden Patient when a source record is updated, without relinking it', async () => {
    const updated = zhangSanLis();
    updated.maritalStatus = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'M' }] };
    expect(await bed.receive(updated)).to.equal(golden);
    const g = await bed.store.read('Patient', golden) as Patient;
    expect(g.maritalStatus?.coding?.[0]?.code).to.equal('M'); // maritalStatus: most recent
  });

  it('is idempotent: indexing an unchanged record again changes nothing', async () => {
    const before = await bed.store.read('Patient', golden);
    const out = await bed.index.indexSource('his-zs');
    expect(out.action).to.equal('unchanged');
    expect((await bed.store.read('Patient', golden))?.meta?.versionId).to.equal(before?.meta?.versionId);
    expect(await bed.db.collection('Patient').countDocuments({ 'resource.meta.tag.code': 'GOLDEN_RECORD' })).to.equal(2);
  });

  it('queues a possible match for review with the explained score instead of linking it', async () => {
    const weak = patient({ id: 'pacs-ls2', family: 'Li', given: 'Si', birthDate: '1985-11-20', source: 'PACS' });
    const own = await bed.receive(weak);
    expect(own).to.not.equal(await bed.index.goldenOf('his-ls'));
    const { items } = await bed.index.repo.listReviews({ status: 'OPEN', source: 'pacs-ls2' });
    expect(items).to.have.length(1);
    expect(items[0]!.golden).to.equal(await bed.index.goldenOf('his-ls'));
    expect(items[0]!.score).to.be.within(items[0]!.thresholds.review, items[0]!.thresholds.autoMerge);
    expect(items[0]!.fields.find((f) => f.field === 'birthDate')).to.include({ level: 'exact' });
  });

  it('answers the reader questions: isGolden, survivorOf', async () => {
    expect(await bed.index.isGolden(golden)).to.equal(true);
    expect(await bed.index.isGolden('his-zs')).to.equal(false);
    expect(await bed.index.survivorOf(golden)).to.equal(undefined);
  });

  it('audits every decision', async () => {
    const trail = await bed.index.repo.auditTrail({ source: 'lis-zs' });
    expect(trail.map((e) => e.action)).to.include.members(['LINK_AUTO', 'SOURCE_UPDATED']);
    expect(trail.find((e) => e.action === 'LINK_AUTO')).to.include({ who: 'system', golden });
  });
});

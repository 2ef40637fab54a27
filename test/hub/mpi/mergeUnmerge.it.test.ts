import { expect } from 'chai';
import type { Patient } from 'fhir/r4.js';
import type { LinkRecord } from '../../../hub/mpi/mpiRecords.ts';
import { applyDirective, declareNoMatch, mergeGoldens, unmerge } from '../../../hub/mpi/patientMerges.ts';
import { acceptReview, listReview, rejectReview } from '../../../hub/mpi/reviewQueue.ts';
import { MpiTestBed } from './mpiTestBed.ts';
import { liSiHis, patient, zhangSanHis, zhangSanLis } from './patientFixtures.ts';

function content(p: Patient | undefined): Omit<Patient, 'meta'> {
  const { meta: _m, ...rest } = p ?? { resourceType: 'Patient' };
  return rest;
}
function unversioned(links: LinkRecord[]): Array<Omit<LinkRecord, 'version'>> {
  return links.map(({ version: _v, ...rest }) => rest).sort((a, b) => (a._id < b._id ? -1 : 1));
}

describe('patient index on FerretDB: merge, unmerge, NO_MATCH, review, A40/A37', function () {
  this.timeout(30_000);
  let bed: MpiTestBed;
  beforeEach(async () => { bed = await new MpiTestBed().start(); });
  afterEach(() => bed.stop());

  async function snapshot(...goldens: string[]) {
    const out: Record<string, unknown> = {};
    for (const g of goldens) out[g] = { golden: content(await bed.store.read('Patient', g) as Patient), links: unversioned(await bed.index.repo.linksOfGolden(g)) };
    return out;
  }

  it('merges two golden Patients: sources move (MANUAL), the loser is replaced-by the survivor and the survivor replaces it', async () => {
    const gz = await bed.receive(zhangSanHis());
    const gl = await bed.receive(liSiHis());
    const r = await mergeGoldens(bed.index, gl, gz, 'dr.wang', 'same person per phone call');
    expect(r.moved).to.deep.equal(['his-ls']);
    expect(await bed.index.goldenOf('his-ls')).to.equal(gz);
    expect(await bed.index.repo.getLink('his-ls')).to.include({ linkSource: 'MANUAL', who: 'dr.wang', mergeId: r.mergeId });
    const loser = await bed.store.read('Patient', gl) as Patient;
    expect(loser.active).to.equal(false);
    expect(loser.link).to.deep.equal([{ other: { reference: `Patient/${gz}` }, type: 'replaced-by' }]);
    expect((await bed.store.read('Patient', gz) as Patient).link).to.deep.include({ other: { reference: `Patient/${gl}` }, type: 'replaces' });
    expect(await bed.index.survivorOf(gl)).to.equal(gz);
    expect(await bed.index.resolveGolden('his-ls')).to.equal(gz);
  });

  it('unmerge restores golden records and links exactly as they were before the merge', async () => {
    const gz = await bed.receive(zhangSanHis());
    await bed.receive(zhangSanLis());
    const gl = await bed.receive(liSiHis());
    const before = await snapshot(gz, gl);
    const r = await mergeGoldens(bed.index, gl, gz, 'clerk', 'mistake');
    const u = await unmerge(bed.index, r.mergeId, 'supervisor', 'wrong merge');
    expect(u.restored).to.have.members(['his-zs', 'lis-zs', 'his-ls']);
    expect(await snapshot(gz, gl)).to.deep.equal(before);
    expect((await bed.index.repo.getMerge(r.mergeId))?.status).to.equal('undone');
    expect(await bed.index.survivorOf(gl)).to.equal(undefined);
  });

  it('unmerge after new data arrived keeps the new data and re-matches records that joined since', async () => {
    const gz = await bed.receive(zhangSanHis());
    const gl = await bed.receive(liSiHis());
    const r = await mergeGoldens(bed.index, gz, gl, 'clerk', 'mistake');
    // after the merge: an update of Zhang's HIS record and a new LIS record of Li Si
    const newer = zhangSanHis();
    newer.telecom = [{ system: 'phone', value: '13655556666' }];
    await bed.receive(newer);
    const lisLi = patient({ id: 'lis-ls', family: '李', given: '四', birthDate: '1985-11-20', gender: 'female', nationalId: '11010519851120002X', source: 'LIS' });
    expect(await bed.receive(lisLi)).to.equal(gl); // joined the merged golden
    const u = await unmerge(bed.index, gz, 'supervisor', 'two people'); // by the merged-away golden id
    expect(u.mergeId).to.equal(r.mergeId);
    expect(u.rematched).to.deep.equal(['lis-ls']);
    expect(await bed.index.sourcesOf(gz)).to.deep.equal(['his-zs']);
    expect(await bed.index.sourcesOf(gl)).to.have.members(['his-ls', 'lis-ls']);
    const z = await bed.store.read('Patient', gz) as Patient;
    expect(z.active).to.equal(true);
    expect(z.telecom?.[0]?.value).to.equal('13655556666');
    expect(z.link).to.deep.equal([{ other: { reference: 'Patient/his-zs' }, type: 'seealso' }]);
    expect((await bed.store.read('Patient', gl) as Patient).link?.some((l) => l.type === 'replaces')).to.equal(false);
  });

  it('refuses to undo a merge twice and to merge a golden Patient with itself', async () => {
    const gz = await bed.receive(zhangSanHis());
    const gl = await bed.receive(liSiHis());
    const r = await mergeGoldens(bed.index, gl, gz, 'a', 'b');
    await unmerge(bed.index, r.mergeId, 'a', 'b');
    await expectCode(unmerge(bed.index, r.mergeId, 'a', 'b'), 'MPI_UNMERGE_CONFLICT');
    await expectCode(mergeGoldens(bed.index, 'his-zs', gz, 'a', 'b'), 'MPI_MERGE_SAME_RECORD');
  });

  it('never auto-links a record to a golden Patient holding a NO_MATCH partner, and refuses a manual merge across it', async () => {
    const gz = await bed.receive(zhangSanHis());
    await declareNoMatch(bed.index, 'lis-zs', 'his-zs', 'dr.li', 'twins');
    const glis = await bed.receive(zhangSanLis());
    expect(glis).to.not.equal(gz);
    await expectCode(mergeGoldens(bed.index, glis, gz, 'clerk', 'x'), 'MPI_MERGE_CONFLICT');
  });

  it('review: accept merges the pair; reject records NO_MATCH and the pair never returns', async () => {
    await bed.receive(liSiHis());
    await bed.receive(patient({ id: 'pacs-ls', family: 'Li', given: 'Si', birthDate: '1985-11-20', source: 'PACS' }));
    await bed.receive(zhangSanHis());
    await bed.receive(patient({ id: 'pacs-zs', family: 'Zhang', given: 'Sen', birthDate: '1990-03-07', source: 'PACS' }));
    const { items, total } = await listReview(bed.index, {});
    expect(total).to.equal(2);
    const li = items.find((i) => i.source === 'pacs-ls')!;
    const zs = items.find((i) => i.source === 'pacs-zs')!;
    const merged = await acceptReview(bed.index, li._id, 'reviewer');
    expect(merged?.into).to.equal(await bed.index.goldenOf('his-ls'));
    expect(await bed.index.goldenOf('pacs-ls')).to.equal(await bed.index.goldenOf('his-ls'));
    await rejectReview(bed.index, zs._id, 'reviewer', 'different mother name');
    expect(await bed.index.repo.noMatchesOf('pacs-zs')).to.deep.equal(['his-zs']);
    expect((await listReview(bed.index, {})).total).to.equal(0);
    await expectCode(acceptReview(bed.index, zs._id, 'reviewer'), 'MPI_REVIEW_CONFLICT');
    // the same PACS record again (updated): no new review item for the rejected pair
    const again = patient({ id: 'pacs-zs', family: 'Zhang', given: 'Sen', birthDate: '1990-03-07', source: 'PACS', phone: '13000000000' });
    await bed.receive(again);
    expect((await listReview(bed.index, {})).total).to.equal(0);
    const trail = await bed.index.repo.auditTrail({ source: 'pacs-zs' });
    expect(trail.find((e) => e.action === 'REVIEW_REJECTED')).to.include({ who: 'reviewer', why: 'different mother name' });
  });

  it('honours A40 from a source system: its two records end under one golden Patient', async () => {
    const ga = await bed.receive(patient({ id: 'his-old', family: '王', given: '五', birthDate: '1970-01-01', source: 'HIS' }));
    const gb = await bed.receive(patient({ id: 'his-new', family: '汪', given: '伍', birthDate: '1971-05-05', source: 'HIS' }));
    expect(ga).to.not.equal(gb);
    await applyDirective(bed.index, { kind: 'merge', survivor: 'Patient/his-new', retired: 'Patient/his-old', sourceSystem: 'HIS', controlId: 'C1' });
    expect(await bed.index.goldenOf('his-old')).to.equal(gb);
    expect(await bed.index.survivorOf(ga)).to.equal(gb);
    expect((await bed.index.repo.getLink('his-old'))?.who).to.equal('HIS A40 C1');
  });

  it('honours A37 from a source system: the records part and stay apart', async () => {
    const g = await bed.receive(zhangSanHis());
    expect(await bed.receive(zhangSanLis())).to.equal(g);
    await applyDirective(bed.index, { kind: 'unlink', patient: 'Patient/his-zs', other: 'Patient/lis-zs', sourceSystem: 'HIS' });
    expect(await bed.index.goldenOf('his-zs')).to.equal(g);
    expect(await bed.index.goldenOf('lis-zs')).to.not.equal(g);
    expect(await bed.index.sourcesOf(g)).to.deep.equal(['his-zs']);
    expect((await bed.store.read('Patient', g) as Patient).identifier?.some((i) => i.value === 'L-5521')).to.equal(false);
  });
});

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    expect((err as { code?: string }).code).to.equal(code);
    return;
  }
  expect.fail(`expected ${code}`);
}

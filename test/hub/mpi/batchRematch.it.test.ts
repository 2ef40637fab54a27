import { expect } from 'chai';
import { applyRematch, planRematch } from '../../../hub/mpi/batchRematch.ts';
import { loadMatchRules, type MatchRules } from '../../../hub/mpi/matchRules.ts';
import { mergeGoldens } from '../../../hub/mpi/patientMerges.ts';
import { MpiTestBed } from './mpiTestBed.ts';
import { liSiHis, patient, zhangSanHis, zhangSanLis } from './patientFixtures.ts';

function withThresholds(autoMerge: number, review: number): MatchRules {
  const r = structuredClone(loadMatchRules());
  r.thresholds = { autoMerge, review };
  return r;
}

describe('patient index on FerretDB: rule dry-run and batch re-match', function () {
  this.timeout(60_000);
  let bed: MpiTestBed;
  beforeEach(async () => {
    bed = await new MpiTestBed().start();
    await bed.receive(zhangSanHis());
    await bed.receive(zhangSanLis());
    await bed.receive(liSiHis());
    await bed.receive(patient({ id: 'pacs-ls', family: 'Li', given: 'Si', birthDate: '1985-11-20', source: 'PACS' }));
  });
  afterEach(() => bed.stop());

  async function state(): Promise<string> {
    const links = await bed.db.collection('mpi_links').find({}).sort({ _id: 1 }).toArray();
    const goldens = await bed.db.collection('Patient').find({ 'resource.meta.tag.code': 'GOLDEN_RECORD' }).sort({ _id: 1 }).toArray();
    return JSON.stringify({ links, goldens: goldens.map((g) => [g._id, g.versionId]) });
  }

  it('dry-run of a looser rule file reports the link that would appear and changes nothing', async () => {
    const before = await state();
    const phases = new Set<string>();
    const plan = await planRematch(bed.index, withThresholds(18, 10), (phase) => phases.add(phase));
    expect(plan.appear).to.deep.equal([{ a: 'his-ls', b: 'pacs-ls' }]);
    expect(plan.disappear).to.deep.equal([]);
    expect(plan.sources).to.equal(4);
    expect([...phases]).to.include.members(['load', 'match']);
    expect(await state()).to.equal(before);
  });

  it('dry-run of a stricter rule file reports the links that would disappear', async () => {
    const plan = await planRematch(bed.index, withThresholds(1000, 900));
    expect(plan.disappear).to.deep.equal([{ a: 'his-zs', b: 'lis-zs' }]);
    expect(plan.appearCount).to.equal(0);
  });

  it('the current rules re-match to the state incremental matching built', async () => {
    const plan = await planRematch(bed.index, bed.index.rules);
    expect(plan.appearCount + plan.disappearCount + plan.moves.length).to.equal(0);
  });

  it('a real re-match applies the new rules but keeps manual decisions', async () => {
    // a person merged PACS Li Si into Li Si's golden by hand
    await mergeGoldens(bed.index, 'pacs-ls', 'his-ls', 'reviewer', 'checked the ID card');
    const strict = withThresholds(1000, 900);
    const plan = await planRematch(bed.index, strict);
    expect(plan.disappear).to.deep.equal([{ a: 'his-zs', b: 'lis-zs' }]); // the manual pair stays
    const applied = await applyRematch(bed.index, plan, strict, 'ops');
    expect(applied.moved).to.equal(1);
    expect(await bed.index.goldenOf('his-zs')).to.not.equal(await bed.index.goldenOf('lis-zs'));
    expect(await bed.index.goldenOf('pacs-ls')).to.equal(await bed.index.goldenOf('his-ls'));
    const g = await bed.index.goldenOf('lis-zs');
    expect(await bed.index.sourcesOf(g!)).to.deep.equal(['lis-zs']);
    expect((await bed.index.repo.auditTrail({ source: 'lis-zs' })).map((e) => e.action)).to.include('REMATCH');
    // re-running the same rules is a no-op
    const again = await planRematch(bed.index, strict);
    expect(again.moves).to.deep.equal([]);
  });
});

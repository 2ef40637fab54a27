import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { progressBar, runMpi } from '../../../app/commands/mpiCommand.ts';
import { loadMatchRules } from '../../../hub/mpi/matchRules.ts';
import { MpiTestBed } from '../../hub/mpi/mpiTestBed.ts';
import { liSiHis, patient, zhangSanHis, zhangSanLis } from '../../hub/mpi/patientFixtures.ts';

describe('hub mpi (CLI) against FerretDB', function () {
  this.timeout(60_000);
  let bed: MpiTestBed;
  let lines: string[];
  let progress: string[];
  const run = (...argv: string[]) => runMpi([...argv, '--user', 'ops.kim'], {
    index: bed.index, out: (t) => lines.push(t), progress: progressBar((t) => progress.push(t), false),
  });

  beforeEach(async () => {
    bed = await new MpiTestBed().start();
    lines = []; progress = [];
    await bed.receive(zhangSanHis());
    await bed.receive(zhangSanLis());
    await bed.receive(liSiHis());
    await bed.receive(patient({ id: 'pacs-ls', family: 'Li', given: 'Si', birthDate: '1985-11-20', source: 'PACS' }));
  });
  afterEach(() => bed.stop());

  it('review lists possible matches with their explained score, and accept merges as the named user', async () => {
    expect(await run('review')).to.equal(0);
    expect(lines.at(-1)).to.equal('1 open review item(s)');
    expect(lines[0]).to.match(/score \d+\.\d \[review 12, auto 21\]\s+Patient\/pacs-ls -> Patient\/\w+\s+name=pinyin\(\+\d+\.\d\) birthDate=exact/);
    const id = lines[0]!.split(' ')[0]!;
    lines = [];
    expect(await run('review', 'accept', id)).to.equal(0);
    expect(lines[0]).to.match(/^accepted .*merged Patient\/\w+ into Patient\/\w+/);
    expect(await bed.index.goldenOf('pacs-ls')).to.equal(await bed.index.goldenOf('his-ls'));
    expect((await bed.index.repo.getLink('pacs-ls'))?.who).to.equal('ops.kim');
  });

  it('review reject needs a reason and records NO_MATCH', async () => {
    await run('review', '--json');
    const id = (JSON.parse(lines[0]!) as { _id: string })._id;
    let failed = false;
    await run('review', 'reject', id).catch((e: { code?: string }) => { failed = e.code === 'MPI_REVIEW_REASON_REQUIRED'; });
    expect(failed).to.equal(true);
    expect(await run('review', 'reject', id, '--reason', 'different person')).to.equal(0);
    expect(await bed.index.repo.noMatchesOf('pacs-ls')).to.deep.equal(['his-ls']);
  });

  it('merge prints the undo command; unmerge by that id restores the two golden Patients', async () => {
    const gz = (await bed.index.goldenOf('his-zs'))!;
    const gl = (await bed.index.goldenOf('his-ls'))!;
    expect(await run('merge', gl, gz, '--reason', 'duplicate')).to.equal(0);
    const mergeId = /hub mpi unmerge (\w+)/.exec(lines[0]!)![1]!;
    expect(await bed.index.goldenOf('his-ls')).to.equal(gz);
    expect(await run('unmerge', mergeId)).to.equal(0);
    expect(lines[1]).to.contain(`undid merge ${mergeId}: Patient/${gl} restored`);
    expect(await bed.index.goldenOf('his-ls')).to.equal(gl);
  });

  it('dry-run reports what a changed rules file would link and changes nothing; rematch applies it with progress', async () => {
    const rules = structuredClone(loadMatchRules());
    rules.thresholds = { autoMerge: 18, review: 10 };
    const file = path.join(tmpdir(), `mpi-rules-${process.pid}-${Date.now()}.yaml`);
    writeFileSync(file, stringify(rules));
    expect(await run('dry-run', '--rules', file)).to.equal(0);
    expect(lines).to.include('links that would appear: 1');
    expect(lines).to.include('  + Patient/his-ls ~ Patient/pacs-ls');
    expect(lines.at(-1)).to.equal('dry run: nothing was changed');
    expect(await bed.index.goldenOf('pacs-ls')).to.not.equal(await bed.index.goldenOf('his-ls'));
    expect(progress.some((p) => /^match +\[#{20}\] 100% 4\/4/.test(p))).to.equal(true);

    lines = [];
    expect(await run('rematch', '--rules', file)).to.equal(0);
    expect(lines.at(-1)).to.match(/^re-match applied: 1 link\(s\) moved, 1 golden Patient\(s\) retired/);
    expect(await bed.index.goldenOf('pacs-ls')).to.equal(await bed.index.goldenOf('his-ls'));
  });

  it('prints the usage for an unknown action', async () => {
    expect(await run('frobnicate')).to.equal(2);
    expect(lines[0]).to.match(/^usage:/);
  });
});

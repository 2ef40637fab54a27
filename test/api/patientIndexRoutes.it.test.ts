import { expect } from 'chai';
import type { Server } from 'node:http';
import type { Bundle, OperationOutcome, Parameters, Patient } from 'fhir/r4.js';
import { createFhirApp } from '../../api/fhirApp.ts';
import { PATIENT_INDEX_OPERATIONS, patientIndexRoutes } from '../../api/patientIndexRoutes.ts';
import { silentLogger } from '../../hub/core/logger.ts';
import { MpiTestBed } from '../hub/mpi/mpiTestBed.ts';
import { liSiHis, patient, zhangSanHis, zhangSanLis } from '../hub/mpi/patientFixtures.ts';

describe('patient index FHIR operations over HTTP (FerretDB)', function () {
  this.timeout(30_000);
  const bed = new MpiTestBed();
  let server: Server;
  let base = '';

  before(async () => {
    await bed.start();
    const app = createFhirApp({
      store: bed.store, log: silentLogger(), baseUrl: 'http://hub.test/fhir', patients: bed.index,
      extraRouters: [patientIndexRoutes(bed.index, 'http://hub.test/fhir')], extraOperations: PATIENT_INDEX_OPERATIONS,
    });
    await new Promise<void>((resolve) => { server = app.listen(0, '127.0.0.1', () => resolve()); });
    const addr = server.address() as { port: number };
    base = `http://127.0.0.1:${addr.port}/fhir`;
    await bed.receive(zhangSanHis());
    await bed.receive(zhangSanLis());
    await bed.receive(liSiHis());
    await bed.receive(patient({ id: 'pacs-ls', family: 'Li', given: 'Si', birthDate: '1985-11-20', source: 'PACS' }));
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await bed.stop();
  });

  async function post<T>(op: string, body: object, user = 'dr.test'): Promise<{ status: number; body: T }> {
    const res = await fetch(`${base}/Patient/${op}`, { method: 'POST', headers: { 'content-type': 'application/fhir+json', 'x-hub-user': user }, body: JSON.stringify(body) });
    return { status: res.status, body: await res.json() as T };
  }
  const params = (...parameter: Parameters['parameter'] & object) => ({ resourceType: 'Parameters', parameter });

  it('$match answers golden Patients with search.score and the match-grade extension, best first', async () => {
    const probe = patient({ id: 'probe', family: 'ZHANG', given: 'SAN', birthDate: '1990-03-07', gender: 'male', phone: '13800138000' });
    const { status, body } = await post<Bundle>('$match', params({ name: 'resource', resource: probe }));
    expect(status).to.equal(200);
    expect(body.type).to.equal('searchset');
    const first = body.entry![0]!;
    expect(first.resource!.id).to.equal(await bed.index.goldenOf('his-zs'));
    expect(first.search!.mode).to.equal('match');
    expect(first.search!.score).to.be.within(0.9, 1);
    expect(first.search!.extension).to.deep.equal([{ url: 'http://hl7.org/fhir/StructureDefinition/match-grade', valueCode: 'certain' }]);
    expect(body.entry!.map((e) => e.resource!.id)).to.not.include(await bed.index.goldenOf('his-ls'));
  });

  it('$match refuses a request without a Patient with a 400 OperationOutcome', async () => {
    const { status, body } = await post<OperationOutcome>('$match', params({ name: 'count', valueInteger: 3 }));
    expect(status).to.equal(400);
    expect(body.issue[0]!.expression).to.deep.equal(['resource']);
  });

  it('lists the review queue with each field comparison, weight and the thresholds', async () => {
    const res = await fetch(`${base}/Patient/$mpi-review?_count=10`);
    const body = await res.json() as Parameters;
    expect(res.status).to.equal(200);
    expect(body.parameter!.find((p) => p.name === 'total')?.valueInteger).to.equal(1);
    const item = body.parameter!.find((p) => p.name === 'item')!;
    const part = (n: string) => item.part!.find((p) => p.name === n)!;
    expect(part('source').valueReference!.reference).to.equal('Patient/pacs-ls');
    expect(part('autoMergeThreshold').valueDecimal).to.equal(bed.index.rules.thresholds.autoMerge);
    const dob = item.part!.filter((p) => p.name === 'field').find((f) => f.part!.some((x) => x.name === 'name' && x.valueString === 'birthDate'))!;
    expect(dob.part!.find((x) => x.name === 'level')!.valueCode).to.equal('exact');
    expect(dob.part!.find((x) => x.name === 'weight')!.valueDecimal).to.be.greaterThan(0);
  });

  it('accepting a review item merges the pair and records who did it', async () => {
    const list = await (await fetch(`${base}/Patient/$mpi-review`)).json() as Parameters;
    const id = list.parameter!.find((p) => p.name === 'item')!.part!.find((p) => p.name === 'id')!.valueString!;
    const { status, body } = await post<Parameters>('$mpi-review-accept', params({ name: 'id', valueString: id }), 'reviewer.amy');
    expect(status).to.equal(200);
    expect(body.parameter!.find((p) => p.name === 'merge-id')?.valueString).to.be.a('string');
    expect(await bed.index.goldenOf('pacs-ls')).to.equal(await bed.index.goldenOf('his-ls'));
    expect((await bed.index.repo.getLink('pacs-ls'))?.who).to.equal('reviewer.amy');
    const again = await post<OperationOutcome>('$mpi-review-accept', params({ name: 'id', valueString: id }));
    expect(again.status).to.equal(409);
  });

  it('$merge then $unmerge over HTTP restores the golden Patient; reads of the merged-away one point to the survivor', async () => {
    const gz = (await bed.index.goldenOf('his-zs'))!;
    const gl = (await bed.index.goldenOf('his-ls'))!;
    const before = await bed.store.read('Patient', gl) as Patient;
    const merged = await post<Parameters>('$merge', params(
      { name: 'source-patient', valueReference: { reference: `Patient/${gl}` } },
      { name: 'target-patient', valueReference: { reference: `Patient/${gz}` } },
      { name: 'reason', valueString: 'test merge' },
    ));
    expect(merged.status).to.equal(200);
    const result = merged.body.parameter!.find((p) => p.name === 'result')!.resource as Patient;
    expect(result.id).to.equal(gz);
    expect(result.link).to.deep.include({ other: { reference: `Patient/${gl}` }, type: 'replaces' });
    expect(await bed.index.survivorOf(gl)).to.equal(gz);
    const read = await fetch(`${base}/Patient/${gl}`);
    expect(read.status).to.equal(410);
    expect(JSON.stringify(await read.json())).to.contain(gz);

    const undone = await post<Parameters>('$unmerge', params({ name: 'merge-id', valueString: merged.body.parameter!.find((p) => p.name === 'merge-id')!.valueString! }));
    expect(undone.status).to.equal(200);
    const restored = undone.body.parameter!.find((p) => p.name === 'result')!.resource as Patient;
    const { meta: _a, ...restoredContent } = restored;
    const { meta: _b, ...beforeContent } = before;
    expect(restoredContent).to.deep.equal(beforeContent);
  });

  it('$merge of unknown Patients is a 404 OperationOutcome', async () => {
    const { status, body } = await post<OperationOutcome>('$merge', params(
      { name: 'source-patient', valueReference: { reference: 'Patient/nope' } },
      { name: 'target-patient', valueReference: { reference: 'Patient/his-zs' } },
    ));
    expect(status).to.equal(404);
    expect(body.resourceType).to.equal('OperationOutcome');
  });

  it('advertises the operations in the CapabilityStatement', async () => {
    const cs = await (await fetch(`${base}/metadata`)).json() as { rest: Array<{ resource: Array<{ type: string; operation?: Array<{ name: string }> }> }> };
    const ops = cs.rest[0]!.resource.find((r) => r.type === 'Patient')!.operation!.map((o) => o.name);
    expect(ops).to.include.members(['match', 'merge', 'unmerge']);
  });
});

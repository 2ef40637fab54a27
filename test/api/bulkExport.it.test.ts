import { expect } from 'chai';
import type { OperationOutcome } from 'fhir/r4.js';
import { MongoExportJobs } from '../../hub/store/exportJobs.ts';
import { ApiHarness } from './apiHarness.ts';
import { ALL_FIXTURES, ENCOUNTERS, OBSERVATIONS, PATIENTS } from './clinicalFixtures.ts';

interface Manifest { transactionTime: string; output: Array<{ type: string; url: string; count: number }>; error: unknown[] }

describe('Bulk NDJSON export (real FerretDB)', function () {
  this.timeout(30_000);
  const api = new ApiHarness();

  before(async () => {
    await api.start((db) => ({ exportJobs: new MongoExportJobs(db) }));
  });
  after(() => api.stop());

  async function kickOff(path: string): Promise<string> {
    const res = await fetch(`${api.base}${path}`, { headers: { prefer: 'respond-async', accept: 'application/fhir+json' } });
    expect(res.status, await res.clone().text()).to.equal(202);
    return res.headers.get('content-location')!;
  }

  async function ndjson(url: string): Promise<Array<{ resourceType: string; id: string }>> {
    const res = await fetch(url);
    expect(res.headers.get('content-type')).to.match(/^application\/fhir\+ndjson/);
    return (await res.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l));
  }

  it('kicks off with 202, answers the manifest at the status URL, and streams every type as NDJSON', async () => {
    await api.seed(ALL_FIXTURES);
    const status = await kickOff('/$export');
    const manifest = await (await fetch(status)).json() as Manifest;
    const counts = Object.fromEntries(manifest.output.map((o) => [o.type, o.count]));
    expect(counts).to.include({ Patient: PATIENTS.length, Encounter: ENCOUNTERS.length, Observation: OBSERVATIONS.length, Location: 2 });
    const patients = await ndjson(manifest.output.find((o) => o.type === 'Patient')!.url);
    expect(patients.map((p) => p.id).sort()).to.deep.equal(PATIENTS.map((p) => p.id).sort());
    expect(patients.every((p) => p.resourceType === 'Patient')).to.equal(true);
  });

  it('exports the Patient compartment at patient level, narrowed by _type', async () => {
    const manifest = await (await fetch(await kickOff('/Patient/$export?_type=Patient,AllergyIntolerance'))).json() as Manifest;
    expect(manifest.output.map((o) => o.type).sort()).to.deep.equal(['AllergyIntolerance', 'Patient']);
    const all = await (await fetch(await kickOff('/Patient/$export'))).json() as Manifest;
    expect(all.output.map((o) => o.type)).to.not.include.members(['Location', 'Practitioner', 'Organization']);
  });

  it('holds a job to its transaction time, and _since gives only later changes', async () => {
    const status = await kickOff('/$export?_type=Patient');
    const before = await (await fetch(status)).json() as Manifest;
    await new Promise((r) => setTimeout(r, 20));
    await api.store.write({ resource: { ...PATIENTS[0]!, active: true } as never });
    const again = await (await fetch(status)).json() as Manifest;
    expect(again.output[0]!.count).to.equal(before.output[0]!.count - 1);
    const later = await (await fetch(await kickOff(`/$export?_type=Patient&_since=${encodeURIComponent(before.transactionTime)}`))).json() as Manifest;
    expect((await ndjson(later.output[0]!.url)).map((p) => p.id)).to.deep.equal([PATIENTS[0]!.id]);
  });

  it('refuses a kick-off without Prefer: respond-async or with an unknown parameter, and forgets deleted jobs', async () => {
    const noPrefer = await fetch(`${api.base}/$export`);
    expect(noPrefer.status).to.equal(400);
    expect(((await noPrefer.json()) as OperationOutcome).issue[0]!.expression).to.deep.equal(['Prefer']);
    const filter = await fetch(`${api.base}/$export?_typeFilter=Observation%3Fcode%3D1`, { headers: { prefer: 'respond-async' } });
    expect(filter.status).to.equal(400);
    const status = await kickOff('/$export');
    expect((await fetch(status, { method: 'DELETE' })).status).to.equal(202);
    expect((await fetch(status)).status).to.equal(404);
  });
});

import { expect } from 'chai';
import type { OperationOutcome } from 'fhir/r4.js';
import { bearerAuthentication } from '../../api/authorization.ts';
import type { AuthConfig } from '../../hub/auth/authConfig.ts';
import { mintDevToken } from '../../hub/auth/devToken.ts';
import { TokenVerifier } from '../../hub/auth/tokenVerifier.ts';
import { MongoExportJobs } from '../../hub/store/exportJobs.ts';
import { ApiHarness } from './apiHarness.ts';
import { ALL_FIXTURES, PATIENTS } from './clinicalFixtures.ts';

const AUTH: AuthConfig = { enabled: true, issuer: 'urn:hub:test-issuer', audience: 'urn:hub:test-api', devSecret: 'test-secret-for-export-authz-0123456789' };

interface Manifest { output: Array<{ type: string; url: string; count: number }> }

describe('Bulk export authorization: kick-off, status, download and cancel agree (real FerretDB)', function () {
  this.timeout(30_000);
  const api = new ApiHarness();
  const token = (scope: string, subject: string): Promise<string> => mintDevToken(AUTH, { scope, subject });
  const as = async (scope: string, subject: string) => ({ authorization: `Bearer ${await token(scope, subject)}` });

  before(async () => {
    const verifier = await TokenVerifier.create(AUTH);
    await api.start((db) => ({ authenticate: bearerAuthentication(verifier, 'hub'), exportJobs: new MongoExportJobs(db) }));
    await api.seed(ALL_FIXTURES);
  });
  after(() => api.stop());

  async function kickOff(path: string, headers: Record<string, string>): Promise<string> {
    const res = await fetch(`${api.base}${path}`, { headers: { ...headers, prefer: 'respond-async' } });
    expect(res.status, await res.clone().text()).to.equal(202);
    return res.headers.get('content-location')!;
  }

  it('lets the user/Patient.read caller who kicked off Patient/$export poll its status and download its file', async () => {
    const owner = await as('user/Patient.read', 'analyst-1');
    const status = await kickOff('/Patient/$export', owner);
    const res = await fetch(status, { headers: owner });
    expect(res.status, await res.clone().text()).to.equal(200);
    const manifest = await res.json() as Manifest;
    expect(manifest.output.map((o) => o.type)).to.deep.equal(['Patient']);
    const file = await fetch(manifest.output[0]!.url, { headers: owner });
    expect(file.status).to.equal(200);
    expect((await file.text()).trim().split('\n')).to.have.length(PATIENTS.length);
  });

  it('hides a job from another user with the same scope: status, file and cancel answer 404', async () => {
    const status = await kickOff('/Patient/$export', await as('user/Patient.read', 'analyst-1'));
    const manifest = await (await fetch(status, { headers: await as('user/Patient.read', 'analyst-1') })).json() as Manifest;
    const stranger = await as('user/Patient.read', 'analyst-2');
    expect((await fetch(status, { headers: stranger })).status).to.equal(404);
    expect((await fetch(manifest.output[0]!.url, { headers: stranger })).status).to.equal(404);
    expect((await fetch(status, { method: 'DELETE', headers: stranger })).status).to.equal(404);
    expect((await fetch(status, { headers: await as('user/Patient.read', 'analyst-1') })).status).to.equal(200);
  });

  it('lets a system/*.read service poll and download any job, but not cancel it', async () => {
    const status = await kickOff('/Patient/$export', await as('user/Patient.read', 'analyst-1'));
    const service = await as('system/*.read', 'etl-service');
    const manifest = await (await fetch(status, { headers: service })).json() as Manifest;
    expect((await fetch(manifest.output[0]!.url, { headers: service })).status).to.equal(200);
    const cancel = await fetch(status, { method: 'DELETE', headers: service });
    expect(cancel.status).to.equal(403);
    expect(((await cancel.json()) as OperationOutcome).issue[0]!.diagnostics).to.match(/reading is not enough/);
    expect((await fetch(status, { headers: service })).status).to.equal(200);
  });

  it('lets the owner cancel its own job, and a system/*.write service cancel anyone\'s', async () => {
    const owner = await as('user/Patient.read', 'analyst-1');
    const mine = await kickOff('/Patient/$export', owner);
    expect((await fetch(mine, { method: 'DELETE', headers: owner })).status).to.equal(202);
    expect((await fetch(mine, { headers: owner })).status).to.equal(404);
    const theirs = await kickOff('/Patient/$export', owner);
    expect((await fetch(theirs, { method: 'DELETE', headers: await as('system/*.write', 'ops-service') })).status).to.equal(202);
    expect((await fetch(theirs, { headers: owner })).status).to.equal(404);
  });

  it('refuses the owner a file its current token no longer reads, and a kick-off for types it cannot read', async () => {
    const status = await kickOff('/Patient/$export', await as('user/Patient.read', 'analyst-1'));
    const later = await as('user/Observation.read', 'analyst-1');
    const manifest = await (await fetch(status, { headers: later })).json() as Manifest;
    expect((await fetch(manifest.output[0]!.url, { headers: later })).status).to.equal(403);
    const none = await fetch(`${api.base}/Patient/$export?_type=Observation`, { headers: { ...(await as('user/Patient.read', 'analyst-1')), prefer: 'respond-async' } });
    expect(none.status).to.equal(403);
  });

  it('does not confuse a subject of another issuer with the owner', async () => {
    const status = await kickOff('/Patient/$export', await as('user/Patient.read', 'analyst-1'));
    const id = status.split('/').pop()!;
    await api.db.collection('export_jobs').updateOne({ _id: id as never }, { $set: { ownerIssuer: 'https://other-idp.example' } });
    expect((await fetch(status, { headers: await as('user/Patient.read', 'analyst-1') })).status).to.equal(404);
  });
});

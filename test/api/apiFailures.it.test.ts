import { expect } from 'chai';
import type { OperationOutcome } from 'fhir/r4.js';
import { ApiHarness } from './apiHarness.ts';
import { PATIENTS } from './clinicalFixtures.ts';

describe('API failures as OperationOutcome (real FerretDB)', function () {
  this.timeout(30_000);
  const api = new ApiHarness();

  before(async () => {
    await api.start({ limits: { maxParameters: 5, maxBodyBytes: 1024 } });
    await api.seed(PATIENTS);
  });
  after(() => api.stop());

  it('refuses a query with more parameters than allowed, naming the limit', async () => {
    const res = await fetch(`${api.base}/Patient?gender=male&family=a&given=b&birthdate=ge1900&address-city=x&phone=1`);
    expect(res.status).to.equal(400);
    expect(((await res.json()) as OperationOutcome).issue[0]!.diagnostics).to.match(/at most 5 parameters/);
  });

  it('answers 413 for a body over the size limit and 404 for unknown routes and types', async () => {
    const big = await fetch(`${api.base}/Patient/_search`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `family=${'x'.repeat(5000)}` });
    expect(big.status).to.equal(413);
    expect(((await big.json()) as OperationOutcome).resourceType).to.equal('OperationOutcome');
    expect((await fetch(`${api.base}/Spaceship?name=x`)).status).to.equal(404);
    expect((await fetch(`${api.base}/Patient/p-duck/_nonsense/x/y`)).status).to.equal(404);
  });

  it('searches with POST _search and a form body like GET', async () => {
    const res = await fetch(`${api.base}/Patient/_search`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'family=duck&gender=male' });
    expect(res.status).to.equal(200);
    expect(((await res.json()) as { entry: Array<{ resource: { id: string } }> }).entry.map((e) => e.resource.id)).to.deep.equal(['p-duck']);
  });

  it('answers 500 without internals when the database is gone', async () => {
    await api.mongo.close();
    const res = await fetch(`${api.base}/Patient/p-duck`);
    expect(res.status).to.equal(500);
    const text = await res.text();
    expect(JSON.parse(text).issue[0].diagnostics).to.equal('internal error; see the server log');
    expect(text).to.not.match(/mongo|at .*\.ts|stack/i);
  });
});

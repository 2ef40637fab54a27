import { expect } from 'chai';
import express from 'express';
import type { Bundle, Observation, OperationOutcome, Patient } from 'fhir/r4.js';
import { bearerAuthentication } from '../../api/authorization.ts';
import type { AuthConfig } from '../../hub/auth/authConfig.ts';
import { mintDevToken } from '../../hub/auth/devToken.ts';
import { TokenVerifier } from '../../hub/auth/tokenVerifier.ts';
import { MongoExportJobs } from '../../hub/store/exportJobs.ts';
import { failureOf, fhirClient, type FhirClient } from '../support/fhirClient.ts';
import { ApiHarness } from './apiHarness.ts';
import { ALL_FIXTURES, FixedPatientIndex, GOLDEN_ZHANG } from './clinicalFixtures.ts';

const AUTH: AuthConfig = { enabled: true, issuer: 'urn:hub:test-issuer', audience: 'urn:hub:test-api', devSecret: 'test-secret-for-patient-scopes-0123456789' };



const idsOf = (b: Bundle): string[] => (b.entry ?? []).map((e) => `${e.resource!.resourceType}/${e.resource!.id}`).sort();

describe('SMART patient/ scopes keep a patient-facing app to its launch Patient (real FerretDB)', function () {
  this.timeout(30_000);
  const api = new ApiHarness();
  const token = (scope: string, patient?: string): Promise<string> => mintDevToken(AUTH, { scope, subject: 'follow-up-app', ...(patient ? { patient } : {}) });
  /** 张三's app, launched for his golden record */
  let app: FhirClient;

  async function refusal(call: () => Promise<unknown>): Promise<{ status: number; outcome: OperationOutcome }> {
    try {
      await call();
    } catch (err) {
      const { status, body } = failureOf(err);
      return { status, outcome: body as OperationOutcome };
    }
    throw new Error('expected the request to be refused');
  }

  before(async () => {
    // a stand-in for the patient-index operations router, to show it is never reached
    const operations = express.Router();
    operations.post('/Patient/\\$match', (_req, res) => { res.status(200).type('application/fhir+json').send(JSON.stringify({ resourceType: 'Bundle', type: 'searchset' })); });
    const verifier = await TokenVerifier.create(AUTH);
    await api.start((db) => ({
      authenticate: bearerAuthentication(verifier, 'hub'),
      extraRouters: [operations],
      patients: new FixedPatientIndex(),
      exportJobs: new MongoExportJobs(db),
    }));
    await api.seed([...ALL_FIXTURES, GOLDEN_ZHANG]);
    app = await fhirClient(api.base, await token('patient/*.read', 'g-zhang'));
  });
  after(() => api.stop());

  it('reads the launch Patient, its source Patients and their Observations', async () => {
    expect((await app.read({ resourceType: 'Patient', id: 'g-zhang' }) as Patient).id).to.equal('g-zhang');
    expect((await app.read({ resourceType: 'Patient', id: 'p-zhang-lis' }) as Patient).id).to.equal('p-zhang-lis');
    const hb = await app.read({ resourceType: 'Observation', id: 'o-zhang-hb' }) as unknown as Observation;
    expect(hb.subject!.reference).to.equal('Patient/p-zhang-lis');
    expect((await app.vread({ resourceType: 'Observation', id: 'o-zhang-hb', version: '1' }) as unknown as Observation).id).to.equal('o-zhang-hb');
    const history = await app.history({ resourceType: 'Observation', id: 'o-zhang-hb' }) as unknown as Bundle;
    expect(history.entry).to.have.length(1);
  });

  it('answers another person\'s records exactly as records that do not exist: 404, same message', async () => {
    const other = await refusal(() => app.read({ resourceType: 'Observation', id: 'o-duck-hb' }));
    const absent = await refusal(() => app.read({ resourceType: 'Observation', id: 'o-nobody' }));
    expect(other.status).to.equal(404);
    expect(other.outcome.issue[0]!.diagnostics!.replace('o-duck-hb', 'X')).to.equal(absent.outcome.issue[0]!.diagnostics!.replace('o-nobody', 'X'));
    for (const call of [
      () => app.read({ resourceType: 'Patient', id: 'p-duck' }),
      () => app.vread({ resourceType: 'Observation', id: 'o-duck-hb', version: '1' }),
      () => app.history({ resourceType: 'Observation', id: 'o-duck-hb' }),
    ]) expect((await refusal(call)).status).to.equal(404);
  });

  it('searches Observations within the person only, with a total and next link that count only theirs', async () => {
    const first = await app.search({ resourceType: 'Observation', searchParams: { _count: 1 } }) as unknown as Bundle;
    expect(first.total).to.equal(2);
    const next = first.link!.find((l) => l.relation === 'next')!;
    expect(next.url).to.not.match(/patient=/);
    const second = await app.nextPage({ bundle: first as never }) as unknown as Bundle;
    expect(second.total).to.equal(2);
    expect(second.link!.some((l) => l.relation === 'next')).to.equal(false);
    expect([...idsOf(first), ...idsOf(second)].sort()).to.deep.equal(['Observation/o-zhang-glu', 'Observation/o-zhang-hb']);
    // naming another person's id finds nothing rather than their records
    const duck = await app.search({ resourceType: 'Observation', searchParams: { patient: 'p-duck' } }) as unknown as Bundle;
    expect(duck.total).to.equal(0);
  });

  it('keeps POST _search to the person too', async () => {
    const res = await fetch(`${api.base}/Observation/_search`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token('patient/Observation.rs', 'p-zhang-lis')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'code=718-7',
    });
    expect(res.status).to.equal(200);
    expect(idsOf(await res.json() as Bundle)).to.deep.equal(['Observation/o-zhang-hb']);
  });

  it('finds only the person\'s own Patients, golden and sources', async () => {
    const b = await app.search({ resourceType: 'Patient', searchParams: { gender: 'male' } }) as unknown as Bundle;
    expect(idsOf(b)).to.deep.equal(['Patient/g-zhang', 'Patient/p-zhang', 'Patient/p-zhang-lis']);
    expect(b.total).to.equal(3);
  });

  it('drops included resources outside the person and refuses chains and _has, naming the parameter', async () => {
    const withRev = await app.search({ resourceType: 'Patient', searchParams: { _id: 'p-zhang-lis', _revinclude: 'Observation:patient' } }) as unknown as Bundle;
    expect(idsOf(withRev)).to.deep.equal(['Observation/o-zhang-glu', 'Observation/o-zhang-hb', 'Patient/p-zhang-lis']);
    // the Practitioner is no record of the person's: a patient/ scope does not reach it
    const withGp = await app.search({ resourceType: 'Patient', searchParams: { _id: 'p-zhang', _include: 'Patient:general-practitioner' } }) as unknown as Bundle;
    expect(idsOf(withGp)).to.deep.equal(['Patient/p-zhang']);
    for (const [name, value] of [['subject:Patient.name', 'Duck'], ['_has:Observation:patient:code', '718-7']] as const) {
      const type = name.startsWith('_has') ? 'Patient' : 'Observation';
      const { status, outcome } = await refusal(() => app.search({ resourceType: type, searchParams: { [name]: value } }));
      expect(status).to.equal(403);
      expect(outcome.issue[0]!.diagnostics).to.contain(name);
    }
  });

  it('runs $everything for the person (golden or source id) but not for anyone else', async () => {
    const all = await app.operation({ resourceType: 'Patient', id: 'g-zhang', name: '$everything', method: 'GET' }) as unknown as Bundle;
    expect(all.total).to.equal(11);
    expect(idsOf(all)).to.not.include('Encounter/e-duck-1');
    const lab = await app.operation({ resourceType: 'Patient', id: 'p-zhang-lis', name: '$everything', method: 'GET' }) as unknown as Bundle;
    expect(idsOf(lab)).to.include.members(['Patient/p-zhang-lis', 'Observation/o-zhang-hb']);
    expect((await refusal(() => app.operation({ resourceType: 'Patient', id: 'p-duck', name: '$everything', method: 'GET' }))).status).to.equal(404);
  });

  it('refuses everything beyond the compartment with 403: $match, $export, type history, AuditEvent, Practitioner', async () => {
    const calls: Array<() => Promise<unknown>> = [
      () => app.operation({ resourceType: 'Patient', name: '$match', input: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: GOLDEN_ZHANG }] } }),
      () => app.request('$export', { options: { headers: { prefer: 'respond-async' } } }),
      () => app.request('Patient/$export', { options: { headers: { prefer: 'respond-async' } } }),
      () => app.history({ resourceType: 'Patient' }),
      () => app.search({ resourceType: 'AuditEvent', searchParams: { patient: 'g-zhang' } }),
      () => app.read({ resourceType: 'Practitioner', id: 'dr-li' }),
    ];
    for (const call of calls) {
      const { status, outcome } = await refusal(call);
      expect(status).to.equal(403);
      expect(outcome.issue[0]!.code).to.equal('forbidden');
    }
  });

  it('grants nothing to a patient/ scope without a patient claim, and says the launch context is missing', async () => {
    const contextless = await fhirClient(api.base, await token('patient/*.read'));
    const { status, outcome } = await refusal(() => contextless.read({ resourceType: 'Patient', id: 'g-zhang' }));
    expect(status).to.equal(403);
    expect(outcome.issue[0]!.diagnostics).to.match(/patient launch context/);
  });

  it('leaves user/ scopes unnarrowed, also beside patient/ scopes in one token', async () => {
    const crm = await fhirClient(api.base, await token('user/Observation.read'));
    expect((await crm.read({ resourceType: 'Observation', id: 'o-duck-hb' }) as unknown as Observation).id).to.equal('o-duck-hb');
    const both = await fhirClient(api.base, await token('user/Observation.read patient/Patient.read', 'g-zhang'));
    const all = await both.search({ resourceType: 'Observation', searchParams: {} }) as unknown as Bundle;
    expect(all.total).to.equal(4);
    expect((await refusal(() => both.read({ resourceType: 'Patient', id: 'p-duck' }))).status).to.equal(404);
    // an included Patient of another person is dropped, the person's own kept
    const inc = await both.search({ resourceType: 'Observation', searchParams: { code: '718-7', _include: 'Observation:patient' } }) as unknown as Bundle;
    expect(idsOf(inc)).to.deep.equal(['Observation/o-duck-hb', 'Observation/o-zhang-hb', 'Patient/p-zhang-lis']);
  });
});

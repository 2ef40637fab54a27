import { expect } from 'chai';
import express from 'express';
import type { AuditEvent, Bundle, OperationOutcome } from 'fhir/r4.js';
import { auditRequests } from '../../api/auditMiddleware.ts';
import { bearerAuthentication } from '../../api/authorization.ts';
import type { AuthConfig } from '../../hub/auth/authConfig.ts';
import { mintDevToken } from '../../hub/auth/devToken.ts';
import { TokenVerifier } from '../../hub/auth/tokenVerifier.ts';
import { silentLogger } from '../../hub/core/logger.ts';
import { MongoAuditTrail } from '../../hub/store/mongoAuditTrail.ts';
import { eventually } from '../support/testServices.ts';
import { failureOf, fhirClient } from '../support/fhirClient.ts';
import { ApiHarness } from './apiHarness.ts';
import { ALL_FIXTURES } from './clinicalFixtures.ts';

const AUTH: AuthConfig = { enabled: true, issuer: 'urn:hub:test-issuer', audience: 'urn:hub:test-api', devSecret: 'test-secret-for-api-security-0123456789' };

describe('API security: bearer tokens, SMART scopes and the audit trail (real FerretDB)', function () {
  this.timeout(30_000);
  const api = new ApiHarness();
  let trail: MongoAuditTrail;
  const token = (scope: string, subject = 'crm-agent-1'): Promise<string> => mintDevToken(AUTH, { scope, subject });

  before(async () => {
    // an operation router as the patient-index engineer mounts them
    const operations = express.Router();
    operations.post('/Patient/\\$merge', (_req, res) => { res.status(200).type('application/fhir+json').send(JSON.stringify({ resourceType: 'Parameters' })); });
    const verifier = await TokenVerifier.create(AUTH);
    await api.start({
      authenticate: bearerAuthentication(verifier, 'hub'),
      extraRouters: [operations],
      audit: (req, res, next) => auditRequests(trail)(req, res, next),
    });
    trail = new MongoAuditTrail(api.db, silentLogger(), { flushIntervalMs: 50 });
    await api.seed(ALL_FIXTURES);
  });
  after(async () => {
    await trail.close();
    await api.stop();
  });

  it('answers 401 with an OperationOutcome and WWW-Authenticate when the token is missing or forged', async () => {
    const missing = await fetch(`${api.base}/Patient/p-duck`);
    expect(missing.status).to.equal(401);
    expect(missing.headers.get('www-authenticate')).to.match(/^Bearer realm="hub", error="invalid_token"/);
    expect(((await missing.json()) as OperationOutcome).issue[0]!.code).to.equal('login');
    const forged = await mintDevToken({ ...AUTH, devSecret: 'another-secret-entirely-0123456789' }, { scope: 'system/*.read' });
    expect((await fetch(`${api.base}/Patient/p-duck`, { headers: { authorization: `Bearer ${forged}` } })).status).to.equal(401);
  });

  it('serves /metadata without a token and says a token is required', async () => {
    const res = await fetch(`${api.base}/metadata`);
    expect(res.status).to.equal(200);
    const cs = await res.json() as { rest: Array<{ security?: { service?: Array<{ coding: Array<{ code: string }> }> } }> };
    expect(cs.rest[0]!.security!.service![0]!.coding[0]!.code).to.equal('SMART-on-FHIR');
  });

  it('lets fhir-kit-client read with user/Patient.read but answers 403 for Encounters and for writes', async () => {
    const client = await fhirClient(api.base, await token('user/Patient.read'));
    expect((await client.read({ resourceType: 'Patient', id: 'p-duck' }) as unknown as { id: string }).id).to.equal('p-duck');
    for (const call of [
      () => client.search({ resourceType: 'Encounter', searchParams: { patient: 'p-duck' } }),
      () => client.operation({ resourceType: 'Patient', name: '$merge', input: { resourceType: 'Parameters' } }),
      () => client.search({ resourceType: 'Patient', searchParams: { '_has:Encounter:patient:location': 'cardiology' } }),
    ]) {
      try {
        await call();
        expect.fail('expected 403');
      } catch (err) {
        const { status, body } = failureOf(err);
        expect(status).to.equal(403);
        expect((body as OperationOutcome).issue[0]!.code).to.equal('forbidden');
      }
    }
  });

  it('drops _include results and $everything parts the scopes do not cover', async () => {
    const client = await fhirClient(api.base, await token('user/Encounter.read'));
    const b = await client.search({ resourceType: 'Encounter', searchParams: { patient: 'p-duck', _include: 'Encounter:subject' } }) as unknown as Bundle;
    expect(b.entry!.map((e) => e.resource!.resourceType)).to.deep.equal(['Encounter']);
    const limited = await fhirClient(api.base, await token('user/Patient.read user/Encounter.read'));
    const all = await limited.operation({ resourceType: 'Patient', id: 'p-duck', name: '$everything', method: 'GET' }) as unknown as Bundle;
    expect([...new Set(all.entry!.map((e) => e.resource!.resourceType))].sort()).to.deep.equal(['Encounter', 'Patient']);
  });

  it('lets system/*.* call write operations of extra routers', async () => {
    const client = await fhirClient(api.base, await token('system/*.*'));
    expect((await client.operation({ resourceType: 'Patient', name: '$merge', input: { resourceType: 'Parameters' } }) as unknown as { resourceType: string }).resourceType).to.equal('Parameters');
  });

  it('records an AuditEvent naming the agent and the Patients read, searchable by patient', async () => {
    const client = await fhirClient(api.base, await token('system/*.read', 'auditor-42'));
    await client.search({ resourceType: 'Observation', searchParams: { code: '718-7', patient: 'p-duck' } });
    const event = await eventually(async () => {
      const b = await client.search({ resourceType: 'AuditEvent', searchParams: { patient: 'p-duck', subtype: 'search-type', agent: 'urn:hub:test-issuer|auditor-42' } }) as unknown as Bundle;
      return b.entry?.[0]?.resource as AuditEvent | undefined;
    }, 5000, 'the audit event');
    expect(event.action).to.equal('E');
    expect(event.outcome).to.equal('0');
    expect(event.entity!.map((e) => e.what?.reference).filter(Boolean)).to.deep.equal(['Patient/p-duck']);
    expect(Buffer.from(event.entity!.find((e) => e.query)!.query!, 'base64').toString()).to.contain('code=718-7');
  });

  it('records refused requests too', async () => {
    await fetch(`${api.base}/Patient/p-muller`);
    await trail.flush();
    const refused = await api.db.collection('AuditEvent').countDocuments({ 'resource.outcome': '4', 'resource.agent.who.display': 'anonymous' });
    expect(refused).to.be.greaterThan(0);
  });
});

import { expect } from 'chai';
import http from 'node:http';
import https from 'node:https';
import type { OperationOutcome } from 'fhir/r4.js';
import type { FhirHttpConnector } from '../../../connectors/fhir-http/fhirHttpConnector.ts';
import { mintDevToken } from '../../../hub/auth/devToken.ts';
import { ENVELOPE_HEADERS } from '../../../hub/core/inboundEnvelope.ts';
import { testPki, type TestPki } from '../../support/testCertificates.ts';
import { FhirConnectorHarness } from '../fhir/fhirConnectorHarness.ts';
import { observation, patient } from '../fhir/fhirSamples.ts';

const FHIR = 'application/fhir+json';

interface Outcome extends OperationOutcome {
  issue: Array<OperationOutcome['issue'][number] & { details?: { coding?: Array<{ code?: string }> } }>;
}
const hubCodeOf = (o: Outcome) => o.issue[0]?.details?.coding?.[0]?.code;

describe('FHIR push intake authentication against real Kafka', function () {
  this.timeout(120_000);
  const harness = new FhirConnectorHarness<FhirHttpConnector>({
    id: 'emr-push', kind: 'fhir-http', sourceSystem: 'other', host: '127.0.0.1', port: 0, options: { path: '/fhir' },
  });
  let base = '';
  const token = (scope: string) => mintDevToken(harness.hub.auth!, { scope, subject: 'emr-feed' });
  const push = async (body: unknown, { bearer, url = base, method = 'POST', headers = {} }: { bearer?: string; url?: string; method?: string; headers?: Record<string, string> } = {}) =>
    fetch(url, { method, headers: { 'content-type': FHIR, ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...headers }, body: JSON.stringify(body) });

  before(async () => {
    base = `http://127.0.0.1:${(await harness.start()).port}/fhir`;
  });
  after(async () => {
    await harness.stop();
  });

  it('refuses a push without a valid token with 401 and an OperationOutcome, and nothing reaches Kafka', async () => {
    const forgedToken = await mintDevToken({ ...harness.hub.auth!, devSecret: 'not-the-hub-secret' }, { scope: 'system/*.write' });
    const cases: Array<[string, string | undefined, string]> = [
      ['no Authorization header', undefined, 'Bearer realm="hub-intake"'],
      ['a token signed with another key', forgedToken, 'Bearer realm="hub-intake", error="invalid_token"'],
      ['not a JWT', 'let-me-in', 'Bearer realm="hub-intake", error="invalid_token"'],
    ];
    for (const [name, bearer, challenge] of cases) {
      const res = await push(patient('p-anon', 'MRN-ANON'), bearer ? { bearer } : {});
      expect(res.status, name).to.equal(401);
      expect(res.headers.get('www-authenticate'), name).to.equal(challenge);
      const outcome = await res.json() as Outcome;
      expect(outcome.issue[0]!.code, name).to.equal('login');
      expect(hubCodeOf(outcome), name).to.equal('HTTP_UNAUTHORIZED');
    }
    expect(await harness.records(harness.inboundTopic), 'inbound').to.have.length(0);
    expect(await harness.records(harness.deadLetterTopic), 'dead letters').to.have.length(0);
    expect(harness.connector.metrics()).to.include({ unauthorized: 3, received: 0 });
  });

  it('refuses a token without a system/ write scope with 403, and nothing reaches Kafka', async () => {
    for (const scope of ['system/*.read', 'user/*.write', 'patient/*.write', 'openid']) {
      const res = await push(patient('p-ro', 'MRN-RO'), { bearer: await token(scope) });
      expect(res.status, scope).to.equal(403);
      expect(res.headers.get('www-authenticate'), scope).to.contain('error="insufficient_scope"');
      const outcome = await res.json() as Outcome;
      expect(outcome.issue[0]!.code, scope).to.equal('forbidden');
      expect(hubCodeOf(outcome), scope).to.equal('HTTP_FORBIDDEN');
    }
    expect(await harness.records(harness.inboundTopic)).to.have.length(0);
  });

  it('answers 401 before reading the body: a request that never sends its body is refused at once', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(base, { method: 'POST', headers: { 'content-type': FHIR, 'content-length': '500000' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', reject);
      req.setTimeout(5000, () => reject(new Error('no answer while the body was still owed: the intake waited for it')));
      req.flushHeaders();
    });
    expect(status).to.equal(401);
  });

  it('accepts a system/*.write token with 202', async () => {
    const res = await push(patient('p-ok', 'MRN-OK'), { bearer: await token('system/*.write') });
    expect(res.status).to.equal(202);
    const [record] = await harness.awaitRecords(harness.inboundTopic, 1);
    expect(record!.headers[ENVELOPE_HEADERS.controlId]).to.equal('Patient/p-ok');
  });

  it('holds a type-limited token to its types: the URL\'s type before the body, a Bundle\'s entries once parsed', async () => {
    const patientsOnly = await token('system/Patient.write');
    expect((await push(patient('p-only', 'MRN-ONLY'), { bearer: patientsOnly, url: `${base}/Patient` })).status).to.equal(202);

    const put = await push(observation('o-1', 'Patient/p-only'), { bearer: patientsOnly, method: 'PUT', url: `${base}/Observation/o-1` });
    expect(put.status).to.equal(403);
    expect((await put.json() as Outcome).issue[0]!.diagnostics).to.equal('the token\'s scopes do not allow writing Observation; it needs system/Observation.write or system/*.write');

    const bundle = { resourceType: 'Bundle', type: 'batch', entry: [{ resource: patient('p-b', 'MRN-B') }, { resource: observation('o-b', 'Patient/p-b') }] };
    const mixed = await push(bundle, { bearer: patientsOnly });
    expect(mixed.status).to.equal(403);
    const outcome = await mixed.json() as Outcome;
    expect(hubCodeOf(outcome)).to.equal('HTTP_FORBIDDEN');
    expect(outcome.issue[0]!.expression).to.deep.equal(['Bundle.entry[1].resource']);

    const records = await harness.awaitRecords(harness.inboundTopic, 2);
    expect(records.map((r) => r.headers[ENVELOPE_HEADERS.controlId])).to.deep.equal(['Patient/p-ok', 'Patient/p-only']);
    expect(await harness.records(harness.deadLetterTopic), 'a forbidden input is not kept for replay').to.have.length(0);
  });

  it('takes the source system from the connector, whatever the request headers or meta.source claim', async () => {
    const claimsHis = { ...patient('p-claim', 'MRN-CLAIM'), meta: { source: 'urn:hub:identifier/source/HIS#forged' } };
    const res = await push(claimsHis, { bearer: await token('system/*.write'), headers: { 'hub-source-system': 'HIS', 'hub-connector-id': 'his-adt' } });
    expect(res.status).to.equal(202);
    const record = (await harness.awaitRecords(harness.inboundTopic, 3))[2]!;
    expect(record.headers).to.include({ [ENVELOPE_HEADERS.sourceSystem]: 'other', [ENVELOPE_HEADERS.connectorId]: 'emr-push' });
  });

  it('asks the same credentials for its status on GET, and leaves /metadata open', async () => {
    const anonymous = await fetch(base);
    expect(anonymous.status).to.equal(401);
    expect(await anonymous.text()).to.not.contain('metrics');
    const status = await fetch(base, { headers: { authorization: `Bearer ${await token('system/*.write')}` } });
    expect(status.status).to.equal(200);
    expect((await status.json() as { metrics: Record<string, number> }).metrics).to.include({ accepted: 3, unauthorized: 5, forbidden: 6 });
    expect((await fetch(`${base}/metadata`)).status).to.equal(200);
  });
});

describe('FHIR push intake with mutual TLS', function () {
  this.timeout(120_000);
  let pki: TestPki | undefined;
  let harness: FhirConnectorHarness<FhirHttpConnector> | undefined;
  let port = 0;

  before(async function () {
    pki = testPki();
    if (!pki) return this.skip(); // no openssl on this machine
    harness = new FhirConnectorHarness<FhirHttpConnector>({
      id: 'lis-push', kind: 'fhir-http', sourceSystem: 'LIS', host: '127.0.0.1', port: 0,
      options: {
        path: '/fhir', auth: { mode: 'mtls', clientNames: ['lis-sender'] },
        tls: { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, caFile: pki.caFile, requestClientCert: true },
      },
    });
    port = (await harness.start()).port!;
  });
  after(async () => {
    await harness?.stop();
    pki?.remove();
  });

  function pushOverTls(client: { cert: Buffer; key: Buffer } | undefined, body: unknown): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = https.request({
        host: '127.0.0.1', port, path: '/fhir', method: 'POST', ca: pki!.serverCert, ...(client ?? {}),
        checkServerIdentity: () => undefined, headers: { 'content-type': FHIR }, agent: false,
      }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  }

  it('accepts a sender whose certificate the CA signed and whose name is allowed, without a token', async () => {
    expect(await pushOverTls(pki!.client('lis-sender'), patient('p-tls', 'MRN-TLS'))).to.equal(202);
    const [record] = await harness!.awaitRecords(harness!.inboundTopic, 1);
    expect(record!.headers[ENVELOPE_HEADERS.sourceSystem]).to.equal('LIS');
  });

  it('refuses a certificate of another name with 403, and a client without one in the handshake', async () => {
    expect(await pushOverTls(pki!.client('intruder'), patient('p-x', 'MRN-X'))).to.equal(403);
    let failure: unknown;
    await pushOverTls(undefined, patient('p-y', 'MRN-Y')).catch((err: unknown) => { failure = err; });
    expect(failure, 'no client certificate, no connection').to.be.instanceOf(Error);
    expect(await harness!.records(harness!.inboundTopic)).to.have.length(1);
  });
});

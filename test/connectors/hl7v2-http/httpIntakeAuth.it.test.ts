import { expect } from 'chai';
import http from 'node:http';
import type { HttpConnector } from '../../../connectors/hl7v2-http/httpConnector.ts';
import { mintDevToken } from '../../../hub/auth/devToken.ts';
import { ENVELOPE_HEADERS } from '../../../hub/core/inboundEnvelope.ts';
import { ackCode } from '../../support/mllpClient.ts';
import { ConnectorHarness } from '../connectorHarness.ts';
import { controlIdOf, sampleMessage } from '../hl7Samples.ts';

const HL7 = 'x-application/hl7-v2+er7';

interface Outcome { resourceType: string; issue: Array<{ code: string; diagnostics: string; details?: { coding?: Array<{ code: string }> } }> }

describe('HL7v2 over HTTP intake authentication against real Kafka', function () {
  this.timeout(120_000);
  // MSH-3 of the samples says HIS: the connector says LIS, and the connector is what counts
  const harness = new ConnectorHarness<HttpConnector>({ id: 'lis-http', kind: 'hl7v2-http', sourceSystem: 'LIS', host: '127.0.0.1', port: 0 });
  let url = '';
  const token = (scope: string) => mintDevToken(harness.hub.auth!, { scope, subject: 'lis-engine' });
  const post = (body: string, headers: Record<string, string> = {}) => fetch(url, { method: 'POST', headers: { 'content-type': HL7, ...headers }, body });

  before(async () => {
    url = `http://127.0.0.1:${(await harness.start()).port}/hl7v2`;
  });
  after(async () => {
    await harness.stop();
  });

  it('refuses an unauthenticated message with 401 before looking at it, and nothing reaches Kafka', async () => {
    const attempts: Array<Record<string, string>> = [{}, { authorization: 'Bearer not-a-jwt' }, { authorization: 'Basic dXNlcjpwYXNz' }];
    for (const headers of attempts) {
      const res = await post(sampleMessage('ANON-1'), headers);
      expect(res.status).to.equal(401);
      expect(res.headers.get('www-authenticate')).to.match(/^Bearer realm="hub-intake"/);
      const outcome = await res.json() as Outcome;
      expect(outcome.resourceType).to.equal('OperationOutcome');
      expect(outcome.issue[0]!.details!.coding![0]!.code).to.equal('HTTP_UNAUTHORIZED');
    }
    expect(await harness.records(harness.inboundTopic), 'inbound').to.have.length(0);
    expect(await harness.records(harness.deadLetterTopic), 'dead letters').to.have.length(0);
    expect(harness.connector.metrics()).to.include({ unauthorized: 3, received: 0 });
  });

  it('refuses with 403 a token that cannot write every type, since a message maps to many', async () => {
    for (const scope of ['system/*.read', 'system/Patient.write', 'user/*.write']) {
      const res = await post(sampleMessage('RO-1'), { authorization: `Bearer ${await token(scope)}` });
      expect(res.status, scope).to.equal(403);
      expect((await res.json() as Outcome).issue[0]!.code, scope).to.equal('forbidden');
    }
    expect(await harness.records(harness.inboundTopic)).to.have.length(0);
  });

  it('answers 401 while the body is still owed, without waiting for it', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(url, { method: 'POST', headers: { 'content-type': HL7, 'content-length': '1000000' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', reject);
      req.setTimeout(5000, () => reject(new Error('no answer: the intake waited for the body')));
      req.flushHeaders();
    });
    expect(status).to.equal(401);
  });

  it('acknowledges a message sent with system/*.write, under the connector\'s source system whatever MSH-3/4 say', async () => {
    const res = await post(sampleMessage('AUTH-1', { facility: 'HIS_MAIN' }), { authorization: `Bearer ${await token('system/*.write')}`, 'hub-source-system': 'HIS' });
    expect(res.status).to.equal(200);
    expect(ackCode(await res.text())).to.deep.equal({ code: 'AA', controlId: 'AUTH-1' });
    const [record] = await harness.awaitRecords(harness.inboundTopic, 1);
    expect(controlIdOf(record!.value)).to.equal('AUTH-1');
    expect(record!.headers).to.include({ [ENVELOPE_HEADERS.sourceSystem]: 'LIS', [ENVELOPE_HEADERS.connectorId]: 'lis-http' });
  });

  it('asks the same credentials for its status on GET', async () => {
    expect((await fetch(url)).status).to.equal(401);
    const res = await fetch(url, { headers: { authorization: `Bearer ${await token('system/*.write')}` } });
    expect(res.status).to.equal(200);
    expect((await res.json() as { metrics: Record<string, number> }).metrics).to.include({ accepted: 1, unauthorized: 5, forbidden: 3 });
  });
});

describe('HL7v2 over HTTP with the legacy shared token', function () {
  this.timeout(60_000);
  process.env.HUB_TEST_LEGACY_HL7_TOKEN = 'static-s3cret';
  const harness = new ConnectorHarness<HttpConnector>({
    id: 'legacy-http', kind: 'hl7v2-http', sourceSystem: 'PACS', host: '127.0.0.1', port: 0,
    options: { auth: { mode: 'shared-token', tokenEnv: 'HUB_TEST_LEGACY_HL7_TOKEN' } },
  });
  let url = '';

  before(async () => {
    url = `http://127.0.0.1:${(await harness.start()).port}/hl7v2`;
  });
  after(async () => {
    await harness.stop();
  });

  it('accepts the configured token and refuses anything else', async () => {
    const send = (authorization?: string) => fetch(url, { method: 'POST', headers: { 'content-type': HL7, ...(authorization ? { authorization } : {}) }, body: sampleMessage('LEGACY-1') });
    expect((await send()).status).to.equal(401);
    expect((await send('Bearer static-s3cret-but-longer')).status).to.equal(401);
    const ok = await send('Bearer static-s3cret');
    expect(ok.status).to.equal(200);
    expect(ackCode(await ok.text()).code).to.equal('AA');
    expect(await harness.awaitRecords(harness.inboundTopic, 1)).to.have.length(1);
  });
});

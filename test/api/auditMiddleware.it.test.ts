import { once } from 'node:events';
import http from 'node:http';
import { expect } from 'chai';
import type { AuditEvent, OperationOutcome } from 'fhir/r4.js';
import { auditRequests } from '../../api/auditMiddleware.ts';
import { bearerAuthentication } from '../../api/authorization.ts';
import { answerParserRefusals } from '../../api/parserRefusals.ts';
import type { AuthConfig } from '../../hub/auth/authConfig.ts';
import { mintDevToken } from '../../hub/auth/devToken.ts';
import { TokenVerifier } from '../../hub/auth/tokenVerifier.ts';
import { silentLogger } from '../../hub/core/logger.ts';
import { MongoAuditTrail } from '../../hub/store/mongoAuditTrail.ts';
import { ApiHarness } from './apiHarness.ts';
import { ALL_FIXTURES } from './clinicalFixtures.ts';

const AUTH: AuthConfig = { enabled: true, issuer: 'urn:hub:test-issuer', audience: 'urn:hub:test-api', devSecret: 'test-secret-for-audit-coverage-0123456789' };

describe('Audit trail: every answered request is recorded, credentials redacted, auth before the body (real FerretDB)', function () {
  this.timeout(30_000);
  const api = new ApiHarness();
  let trail: MongoAuditTrail;
  let token: string;

  before(async () => {
    await api.start({
      authenticate: bearerAuthentication(await TokenVerifier.create(AUTH), 'hub'),
      audit: (req, res, next) => auditRequests(trail)(req, res, next),
      limits: { maxBodyBytes: 64 * 1024 },
    });
    trail = new MongoAuditTrail(api.db, silentLogger(), { flushIntervalMs: 50 });
    answerParserRefusals(api.server, trail);
    await api.seed(ALL_FIXTURES);
    token = await mintDevToken(AUTH, { scope: 'system/*.read', subject: 'audited-agent' });
  });
  after(async () => {
    await trail.close();
    await api.stop();
  });

  /** Every AuditEvent recorded so far whose outcome text is `outcomeDesc`. */
  async function eventsWith(outcomeDesc: string): Promise<AuditEvent[]> {
    await trail.flush();
    const docs = await api.db.collection<{ resource: AuditEvent }>('AuditEvent').find({ 'resource.outcomeDesc': outcomeDesc }).toArray();
    return docs.map((d) => d.resource);
  }

  const queryOf = (e: AuditEvent): string => Buffer.from(e.entity?.find((x) => x.query)?.query ?? '', 'base64').toString('utf8');
  const agentOf = (e: AuditEvent): string | undefined => e.agent[0]!.who?.identifier?.value ?? e.agent[0]!.who?.display;

  it('records the 400 of a body that is not JSON, with the authenticated agent', async () => {
    const res = await fetch(`${api.base}/Observation/_search?marker=bad-json`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' }, body: '{"resourceType": "Parameters",',
    });
    expect(res.status).to.equal(400);
    const events = (await eventsWith('HTTP 400')).filter((e) => queryOf(e) === 'marker=bad-json');
    expect(events).to.have.length(1);
    expect(agentOf(events[0]!)).to.equal('audited-agent');
    expect(events[0]!.outcome).to.equal('4');
    expect(events[0]!.subtype![0]!.code).to.equal('search-type');
  });

  it('records the 406 of a format the server cannot answer in', async () => {
    const res = await fetch(`${api.base}/Patient/p-duck?_format=xml&marker=xml`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).to.equal(406);
    const events = (await eventsWith('HTTP 406')).filter((e) => queryOf(e).includes('marker=xml'));
    expect(events).to.have.length(1);
    expect(agentOf(events[0]!)).to.equal('audited-agent');
    expect(events[0]!.subtype![0]!.code).to.equal('read');
  });

  it('answers headers larger than Node accepts with a 431 OperationOutcome and records it', async () => {
    const before = (await eventsWith('HTTP 431: API_HEADERS_TOO_LARGE')).length;
    const req = http.request(`${api.base}/Patient/p-duck`, { headers: { authorization: `Bearer ${token}`, 'x-padding': 'x'.repeat(64 * 1024) } });
    req.end();
    const [res] = await once(req, 'response') as [http.IncomingMessage];
    let body = '';
    for await (const chunk of res) body += chunk;
    expect(res.statusCode).to.equal(431);
    expect((JSON.parse(body) as OperationOutcome).issue[0]!.code).to.equal('too-long');
    const events = await eventsWith('HTTP 431: API_HEADERS_TOO_LARGE');
    expect(events).to.have.length(before + 1);
    expect(events.at(-1)!.agent[0]!.network!.address).to.match(/127\.0\.0\.1/);
    expect(events.at(-1)!.outcome).to.equal('4');
  });

  it('stores ?access_token= and other credentials in the query entity only as REDACTED', async () => {
    const jwtLike = token; // a JWT under an innocent name is a credential too
    const url = `${api.base}/Patient?family=Duck&access_token=${token}&apiKey=k-123456&note=${jwtLike}&marker=redact`;
    // the search refuses the parameters it does not know; answered, so audited all the same
    expect((await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status).to.equal(400);
    await trail.flush();
    const docs = await api.db.collection<{ resource: AuditEvent }>('AuditEvent').find({}).toArray();
    const query = docs.map((d) => queryOf(d.resource)).find((q) => q.includes('marker=redact'));
    expect(query).to.equal('family=Duck&access_token=REDACTED&apiKey=REDACTED&note=REDACTED&marker=redact');
    // nowhere in the stored events, the decoded queries included
    const stored = JSON.stringify(docs) + docs.map((d) => queryOf(d.resource)).join('\n');
    expect(stored).to.not.contain(token.split('.')[2]);
    expect(stored).to.not.contain('k-123456');
  });

  it('refuses an anonymous POST with 401 before reading its body, and records the refusal', async () => {
    const req = http.request(`${api.base}/Observation/_search?marker=anonymous-upload`, {
      method: 'POST', headers: { 'content-type': 'application/fhir+json', 'transfer-encoding': 'chunked' },
    });
    req.on('error', () => undefined); // the server closes the connection on the rest of the upload
    // a body that never ends: a server that parsed it first would still be waiting for it
    req.write(`{"resourceType":"Parameters","parameter":[${'{"name":"x","valueString":"y"},'.repeat(1000)}`);
    const answered = once(req, 'response') as Promise<[http.IncomingMessage]>;
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer before the body ended: the body was read first')), 3000));
    const [res] = await Promise.race([answered, timeout]);
    expect(res.statusCode).to.equal(401);
    expect(res.headers.connection).to.equal('close');
    res.resume();
    req.destroy();
    const events = (await eventsWith('HTTP 401')).filter((e) => queryOf(e) === 'marker=anonymous-upload');
    expect(events).to.have.length(1);
    expect(agentOf(events[0]!)).to.equal('anonymous');
  });

  it('still parses the body of an authenticated request, and refuses one over maxBodyBytes with 413', async () => {
    const ok = await fetch(`${api.base}/Patient/_search`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'family=Duck',
    });
    expect(ok.status).to.equal(200);
    const big = await fetch(`${api.base}/Patient/_search?marker=too-big`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' }, body: JSON.stringify({ pad: 'x'.repeat(128 * 1024) }),
    });
    expect(big.status).to.equal(413);
    expect((await eventsWith('HTTP 413')).filter((e) => queryOf(e) === 'marker=too-big')).to.have.length(1);
  });

  it('does not record successful reads of /metadata, but records refused ones', async () => {
    expect((await fetch(`${api.base}/metadata?marker=meta-ok`)).status).to.equal(200);
    expect((await fetch(`${api.base}/metadata?_format=xml&marker=meta-refused`)).status).to.equal(406);
    await trail.flush();
    const docs = await api.db.collection<{ resource: AuditEvent }>('AuditEvent').find({}).toArray();
    const queries = docs.map((d) => queryOf(d.resource));
    expect(queries.some((q) => q.includes('marker=meta-ok'))).to.equal(false);
    expect(queries.some((q) => q.includes('marker=meta-refused'))).to.equal(true);
  });
});

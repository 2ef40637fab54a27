import { expect } from 'chai';
import { gzipSync } from 'node:zlib';
import type { OperationOutcome } from 'fhir/r4.js';
import type { FhirHttpConnector } from '../../../connectors/fhir-http/fhirHttpConnector.ts';
import { mintDevToken } from '../../../hub/auth/devToken.ts';
import { ENVELOPE_HEADERS } from '../../../hub/core/inboundEnvelope.ts';
import { DLQ_HEADERS } from '../../../hub/pipeline/deadLetter.ts';
import { FhirConnectorHarness } from '../fhir/fhirConnectorHarness.ts';
import { MRN_SYSTEM, observation, patient, transactionBundle } from '../fhir/fhirSamples.ts';

const FHIR = 'application/fhir+json';

interface Outcome extends OperationOutcome {
  issue: Array<OperationOutcome['issue'][number] & { details?: { coding?: Array<{ code?: string }> } }>;
}

const hubCodeOf = (o: Outcome) => o.issue[0]?.details?.coding?.[0]?.code;

describe('FHIR HTTP push connector against real Kafka', function () {
  this.timeout(120_000);
  const harness = new FhirConnectorHarness<FhirHttpConnector>({
    id: 'emr-push', kind: 'fhir-http', sourceSystem: 'HIS', host: '127.0.0.1', port: 0,
    options: { path: '/fhir', maxBodyBytes: 8 * 1024 },
  });
  let base = '';
  let auth: Record<string, string> = {};

  before(async () => {
    base = `http://127.0.0.1:${(await harness.start()).port}/fhir`;
    auth = { authorization: `Bearer ${await mintDevToken(harness.hub.auth!, { scope: 'system/*.write' })}` };
  });
  after(async () => {
    await harness.stop();
  });

  const send = (body: string | Buffer, { method = 'POST', url = base, contentType = FHIR }: { method?: string; url?: string; contentType?: string | null } = {}) =>
    fetch(url, { method, headers: contentType === null ? auth : { ...auth, 'content-type': contentType }, body });

  let inbound = 0;
  let dead = 0;
  const nextInbound = async () => (await harness.awaitRecords(harness.inboundTopic, ++inbound))[inbound - 1]!;
  const nextDead = async () => (await harness.awaitRecords(harness.deadLetterTopic, ++dead))[dead - 1]!;

  it('accepts a single resource with 202 once Kafka holds it, keyed by the patient identifier', async () => {
    const body = JSON.stringify(patient('p-1', 'MRN100001'));
    const res = await send(body);
    expect(res.status).to.equal(202);
    expect(res.headers.get('content-type')).to.equal('application/fhir+json; charset=utf-8');
    expect(res.headers.get('x-hub-control-id')).to.equal('Patient/p-1');
    const outcome = await res.json() as Outcome;
    expect(outcome.issue[0]).to.include({ severity: 'information', code: 'informational' });

    const record = await nextInbound();
    expect(record.value.toString()).to.equal(body);
    expect(record.key).to.equal(`${MRN_SYSTEM}|MRN100001`);
    expect(record.headers).to.include({
      [ENVELOPE_HEADERS.connectorId]: 'emr-push', [ENVELOPE_HEADERS.sourceSystem]: 'HIS',
      [ENVELOPE_HEADERS.contentType]: 'application/fhir+json', [ENVELOPE_HEADERS.messageType]: 'Patient',
      [ENVELOPE_HEADERS.controlId]: 'Patient/p-1',
    });
    expect(record.headers[ENVELOPE_HEADERS.remoteAddress]).to.match(/^127\.0\.0\.1:\d+$/);
    expect(Date.parse(record.headers[ENVELOPE_HEADERS.receivedAt]!)).to.be.closeTo(Date.now(), 60_000);
  });

  it('keeps a transaction Bundle whole in one record, keyed by its first Patient, named by the Bundle id', async () => {
    const body = JSON.stringify(transactionBundle('tx-42', 'MRN100002'));
    const res = await send(body, { contentType: 'application/json; charset=utf-8' });
    expect(res.status).to.equal(202);
    expect((await res.json() as Outcome).issue[0]!.diagnostics).to.equal('Bundle (transaction) of 3 entries accepted for processing (control id tx-42)');
    const record = await nextInbound();
    expect(JSON.parse(record.value.toString()).entry).to.have.length(3);
    expect(record.key).to.equal(`${MRN_SYSTEM}|MRN100002`);
    expect(record.headers).to.include({ [ENVELOPE_HEADERS.messageType]: 'Bundle', [ENVELOPE_HEADERS.controlId]: 'tx-42' });
  });

  it('accepts PUT {type}/{id} and POST {type}, keying an Observation by the patient it names', async () => {
    const put = await send(JSON.stringify(observation('obs-9', 'Patient/p-1')), { method: 'PUT', url: `${base}/Observation/obs-9` });
    expect(put.status).to.equal(202);
    const putRecord = await nextInbound();
    expect(putRecord.key).to.equal('Patient/p-1');
    expect(putRecord.headers[ENVELOPE_HEADERS.messageType]).to.equal('Observation');

    const create = await send(JSON.stringify(patient('p-3', 'MRN100003')), { url: `${base}/Patient` });
    expect(create.status).to.equal(202);
    expect((await nextInbound()).key).to.equal(`${MRN_SYSTEM}|MRN100003`);
  });

  it('refuses bad input with the status and an OperationOutcome naming the path, and dead-letters it with the reason', async () => {
    const bundleWithHole = {
      resourceType: 'Bundle', type: 'batch',
      entry: [0, 1, 2].map((i) => ({ resource: observation(`o${i}`, 'Patient/p-1') })).concat([{ request: { method: 'POST', url: 'Observation' } } as never]),
    };
    const cases: Array<{ name: string; body: string; status: number; code: string; path?: string; options?: Parameters<typeof send>[1] }> = [
      { name: 'malformed JSON', body: '{"resourceType": "Patient",', status: 400, code: 'FHIR_JSON_INVALID' },
      { name: 'unknown resourceType', body: '{"resourceType":"Patinet","id":"x"}', status: 422, code: 'FHIR_RESOURCE_TYPE_UNKNOWN', path: 'resourceType' },
      { name: 'no resourceType', body: '{"id":"x"}', status: 400, code: 'FHIR_RESOURCE_TYPE_MISSING', path: 'resourceType' },
      { name: 'entry without resource', body: JSON.stringify(bundleWithHole), status: 422, code: 'FHIR_BUNDLE_ENTRY_INVALID', path: 'Bundle.entry[3].resource' },
      { name: 'searchset pushed', body: '{"resourceType":"Bundle","type":"searchset","entry":[]}', status: 422, code: 'FHIR_BUNDLE_TYPE_UNSUPPORTED', path: 'Bundle.type' },
      { name: 'PUT to another id', body: JSON.stringify(patient('p-7', 'M7')), status: 400, code: 'FHIR_ID_MISMATCH', path: 'Patient.id', options: { method: 'PUT', url: `${base}/Patient/p-8` } },
      { name: 'wrong content type', body: JSON.stringify(patient('p-5', 'M5')), status: 415, code: 'HTTP_CONTENT_TYPE_UNSUPPORTED', options: { contentType: 'text/plain' } },
      { name: 'no content type', body: JSON.stringify(patient('p-6', 'M6')), status: 415, code: 'HTTP_CONTENT_TYPE_UNSUPPORTED', options: { contentType: null } },
    ];
    for (const c of cases) {
      const res = await send(c.body, c.options);
      expect(res.status, c.name).to.equal(c.status);
      const outcome = await res.json() as Outcome;
      expect(outcome.resourceType, c.name).to.equal('OperationOutcome');
      expect(hubCodeOf(outcome), c.name).to.equal(c.code);
      if (c.path) expect(outcome.issue[0]!.expression, c.name).to.deep.equal([c.path]);
      const letter = await nextDead();
      expect(letter.value.toString(), c.name).to.equal(c.body);
      expect(letter.headers, c.name).to.include({ [DLQ_HEADERS.code]: c.code, [DLQ_HEADERS.stage]: 'intake', [ENVELOPE_HEADERS.connectorId]: 'emr-push' });
      expect(letter.headers[DLQ_HEADERS.reason], c.name).to.equal(outcome.issue[0]!.diagnostics);
      expect(letter.headers[DLQ_HEADERS.originalTopic], c.name).to.equal(harness.inboundTopic);
    }
    expect((await harness.records(harness.inboundTopic)).length, 'nothing refused reached the inbound topic').to.equal(inbound);
  });

  it('refuses an oversized body with 413 and dead-letters the refusal marked truncated', async () => {
    const big = JSON.stringify({ ...patient('p-big', 'MBIG'), text: { status: 'generated', div: `<div>${'x'.repeat(10_000)}</div>` } });
    const res = await send(big);
    expect(res.status).to.equal(413);
    const outcome = await res.json() as Outcome;
    expect(outcome.issue[0]!.code).to.equal('too-long');
    expect(hubCodeOf(outcome)).to.equal('HTTP_BODY_TOO_LARGE');
    const letter = await nextDead();
    expect(letter.headers).to.include({ [DLQ_HEADERS.code]: 'HTTP_BODY_TOO_LARGE', [DLQ_HEADERS.truncated]: 'true' });
  });

  it('takes a gzip body, publishing the JSON; refuses an unknown encoding and a bomb', async () => {
    const body = JSON.stringify(patient('p-gz', 'MRNGZ'));
    const ok = await fetch(base, { method: 'POST', headers: { ...auth, 'content-type': FHIR, 'content-encoding': 'gzip' }, body: gzipSync(body) });
    expect(ok.status).to.equal(202);
    expect((await nextInbound()).value.toString()).to.equal(body);

    const br = await fetch(base, { method: 'POST', headers: { ...auth, 'content-type': FHIR, 'content-encoding': 'br' }, body });
    expect(br.status).to.equal(415);
    expect(hubCodeOf(await br.json() as Outcome)).to.equal('HTTP_CONTENT_ENCODING_UNSUPPORTED');
    expect((await nextDead()).headers[DLQ_HEADERS.code]).to.equal('HTTP_CONTENT_ENCODING_UNSUPPORTED');

    const bomb = await fetch(base, { method: 'POST', headers: { ...auth, 'content-type': FHIR, 'content-encoding': 'gzip' }, body: gzipSync(Buffer.alloc(1_000_000, 0x20)) });
    expect(bomb.status).to.equal(413);
    expect((await nextDead()).headers[DLQ_HEADERS.code]).to.equal('HTTP_BODY_TOO_LARGE');
  });

  it('answers wrong URLs and methods without taking anything in', async () => {
    const cases: Array<[Promise<Response>, number, string]> = [
      [send('{}', { url: base.replace('/fhir', '/other') }), 404, 'HTTP_NOT_FOUND'],
      [send('{}', { method: 'DELETE', url: `${base}/Patient/p-1` }), 405, 'HTTP_METHOD_NOT_ALLOWED'],
      [send('{}', { method: 'PUT' }), 405, 'HTTP_METHOD_NOT_ALLOWED'],
    ];
    for (const [request, status, code] of cases) {
      const res = await request;
      expect(res.status, code).to.equal(status);
      expect(hubCodeOf(await res.json() as Outcome)).to.equal(code);
    }
  });

  it('describes itself at /metadata for clients that check before writing', async () => {
    const res = await fetch(`${base}/metadata`);
    expect(res.status).to.equal(200);
    const cs = await res.json() as { resourceType: string; fhirVersion: string; rest: Array<{ resource: Array<{ type: string; interaction: Array<{ code: string }> }>; interaction: Array<{ code: string }> }> };
    expect(cs).to.deep.include({ resourceType: 'CapabilityStatement', fhirVersion: '4.0.1' });
    expect(cs.rest[0]!.interaction.map((i) => i.code)).to.deep.equal(['batch', 'transaction']);
    expect(cs.rest[0]!.resource.find((r) => r.type === 'Observation')!.interaction.map((i) => i.code)).to.deep.equal(['create', 'update']);
  });

  it('reports health and counters on GET', async () => {
    const body = await (await fetch(base, { headers: auth })).json() as { status: string; metrics: Record<string, number> };
    expect(body.status).to.equal('up');
    expect(body.metrics).to.include({ accepted: 5, rejected: 11, deadLettered: 11, resources: 7 });
  });
});

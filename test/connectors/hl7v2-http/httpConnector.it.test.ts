import { expect } from 'chai';
import iconv from 'iconv-lite';
import type { HttpConnector } from '../../../connectors/hl7v2-http/httpConnector.ts';
import { mintDevToken } from '../../../hub/auth/devToken.ts';
import { ENVELOPE_HEADERS } from '../../../hub/core/inboundEnvelope.ts';
import { DLQ_HEADERS } from '../../../hub/pipeline/deadLetter.ts';
import { ackCode, ackError } from '../../support/mllpClient.ts';
import { ConnectorHarness } from '../connectorHarness.ts';
import { controlIdOf, sampleMessage } from '../hl7Samples.ts';

const HL7 = 'x-application/hl7-v2+er7';

describe('HTTP connector against real Kafka', function () {
  this.timeout(120_000);
  const harness = new ConnectorHarness<HttpConnector>({
    id: 'http-hl7', kind: 'hl7v2-http', sourceSystem: 'PACS', host: '127.0.0.1', port: 0,
    options: { path: '/hl7v2', maxBodyBytes: 64 * 1024 },
  });
  let url = '';
  let auth: Record<string, string> = {};

  before(async () => {
    url = `http://127.0.0.1:${(await harness.start()).port}/hl7v2`;
    auth = { authorization: `Bearer ${await mintDevToken(harness.hub.auth!, { scope: 'system/*.write' })}` };
  });
  after(async () => {
    await harness.stop();
  });

  const post = (body: string | Buffer, contentType = `${HL7}; charset=utf-8`, headers: Record<string, string> = auth) =>
    fetch(url, { method: 'POST', headers: { 'content-type': contentType, ...headers }, body });

  it('answers a POSTed message with its ACK in the body once it is in Kafka', async () => {
    const res = await post(sampleMessage('HTTP-1', { type: 'ORM^O01^ORM_O01' }));
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.equal(`${HL7}; charset=utf-8`);
    expect(ackCode(await res.text())).to.deep.equal({ code: 'AA', controlId: 'HTTP-1' });
    const [record] = await harness.records(harness.inboundTopic);
    expect(controlIdOf(record!.value)).to.equal('HTTP-1');
    expect(record!.headers).to.include({ [ENVELOPE_HEADERS.sourceSystem]: 'PACS', [ENVELOPE_HEADERS.messageType]: 'ORM^O01' });
    expect(record!.headers[ENVELOPE_HEADERS.remoteAddress]).to.match(/^127\.0\.0\.1:\d+$/);
  });

  it('answers a POSTed batch with a batch of ACKs in message order', async () => {
    const body = ['BHS|^~\\&|PACS|RAD|HUB|HOSP|20260501||||BATCH-7', ...['HB-1', 'HB-2', 'HB-3'].map((id) => sampleMessage(id).trimEnd()), 'BTS|3'].join('\r') + '\r';
    const res = await post(body);
    expect(res.status).to.equal(200);
    const lines = (await res.text()).split('\r').filter(Boolean);
    expect(lines[0]!.split('|')[11]).to.equal('BATCH-7');
    expect(lines.filter((l) => l.startsWith('MSA')).map((l) => l.split('|').slice(1, 3).join(' '))).to.deep.equal(['AA HB-1', 'AA HB-2', 'AA HB-3']);
    expect(lines.at(-1)).to.equal('BTS|3');
    const ids = (await harness.awaitRecords(harness.inboundTopic, 4)).map((r) => controlIdOf(r.value));
    expect(ids.slice(-3)).to.deep.equal(['HB-1', 'HB-2', 'HB-3']);
  });

  it('decodes by the Content-Type charset when MSH-18 is empty and answers in that charset', async () => {
    const text = sampleMessage('HTTP-GB', { family: '赵', facility: '协和' });
    const res = await post(iconv.encode(text, 'gb18030'), `${HL7}; charset=GB18030`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.equal(`${HL7}; charset=gb18030`);
    const ack = iconv.decode(Buffer.from(await res.arrayBuffer()), 'gb18030');
    expect(ack.split('\r')[0]!.split('|')[5]).to.equal('协和');
    const record = (await harness.awaitRecords(harness.inboundTopic, 5)).at(-1)!;
    expect(record.value.equals(iconv.encode(text, 'gb18030'))).to.equal(true);
    expect(record.headers[ENVELOPE_HEADERS.charset]).to.equal('GB18030');
  });

  it('answers text that is not HL7 with an AR ACK and dead-letters it', async () => {
    const res = await post('hello, is this the lab?');
    expect(res.status).to.equal(200);
    const ack = await res.text();
    expect(ackCode(ack).code).to.equal('AR');
    expect(ackError(ack)?.[5]).to.equal('HL7_MSH_MISSING^^HUB');
    const [dead] = await harness.awaitRecords(harness.deadLetterTopic, 1);
    expect(dead!.value.toString()).to.equal('hello, is this the lab?');
    expect(dead!.headers[DLQ_HEADERS.code]).to.equal('HL7_MSH_MISSING');
  });

  it('answers transport problems with an OperationOutcome: auth, content type, size, path, method', async () => {
    const cases: Array<[Promise<Response>, number, string]> = [
      [post(sampleMessage('X'), HL7, {}), 401, 'HTTP_UNAUTHORIZED'],
      [post(sampleMessage('X'), HL7, { authorization: 'Bearer wrong-token!' }), 401, 'HTTP_UNAUTHORIZED'],
      [post('{}', 'application/json'), 415, 'HTTP_CONTENT_TYPE_UNSUPPORTED'],
      [post('x'.repeat(70 * 1024)), 413, 'HTTP_BODY_TOO_LARGE'],
      [fetch(url.replace('/hl7v2', '/other'), { method: 'POST', headers: auth, body: 'x' }), 404, 'HTTP_NOT_FOUND'],
      [fetch(url, { method: 'DELETE', headers: auth }), 405, 'HTTP_METHOD_NOT_ALLOWED'],
    ];
    for (const [request, status, code] of cases) {
      const res = await request;
      expect(res.status, code).to.equal(status);
      const outcome = await res.json() as { resourceType: string; issue: Array<{ details?: { coding?: Array<{ code: string }> } }> };
      expect(outcome.resourceType).to.equal('OperationOutcome');
      expect(outcome.issue[0]!.details!.coding![0]!.code).to.equal(code);
    }
  });

  it('reports health and counters on GET', async () => {
    const res = await fetch(url, { headers: auth });
    const body = await res.json() as { status: string; metrics: Record<string, number> };
    expect(body.status).to.equal('up');
    expect(body.metrics).to.include({ accepted: 5, rejected: 1, batches: 1 });
  });
});

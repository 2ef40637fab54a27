import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import iconv from 'iconv-lite';
import type { MllpConnector } from '../../../connectors/hl7v2-mllp/mllpConnector.ts';
import { frame } from '../../../connectors/hl7v2-mllp/mllpFraming.ts';
import { ENVELOPE_HEADERS } from '../../../hub/core/inboundEnvelope.ts';
import { DLQ_HEADERS } from '../../../hub/pipeline/deadLetter.ts';
import { ackCode, ackError, MllpTestClient } from '../../support/mllpClient.ts';
import { eventually } from '../../support/testServices.ts';
import { ConnectorHarness } from '../connectorHarness.ts';
import { controlIdOf, sampleMessage } from '../hl7Samples.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('MLLP connector against real Kafka', function () {
  this.timeout(120_000);
  const harness = new ConnectorHarness<MllpConnector>({
    id: 'his-adt', kind: 'hl7v2-mllp', sourceSystem: 'HIS', host: '127.0.0.1', port: 0,
    // the 100 concurrent senders below all connect from 127.0.0.1
    options: { maxMessageBytes: 4096, idleTimeoutMs: 60_000, maxConnectionsPerAddress: 100 },
  });
  let port = 0;
  let sent = 0; // messages that reached the inbound topic so far

  before(async () => {
    port = (await harness.start()).port!;
  });
  after(async () => {
    await harness.stop();
  });

  it('answers AA only once the original bytes are in Kafka, keyed by patient, with the envelope headers', async () => {
    const client = await MllpTestClient.connect(port);
    const message = sampleMessage('MLLP-1', { mrn: 'MRN777' });
    const ack = await client.send(message);
    client.close();
    expect(ackCode(ack)).to.deep.equal({ code: 'AA', controlId: 'MLLP-1' });
    sent += 1;
    // No waiting: AA means the record was confirmed by Kafka before the ACK left.
    const [record] = await harness.records(harness.inboundTopic);
    expect(record!.value.toString()).to.equal(message);
    expect(record!.key).to.equal('DEMO_HOSP|MRN777');
    expect(record!.headers).to.include({
      [ENVELOPE_HEADERS.connectorId]: 'his-adt',
      [ENVELOPE_HEADERS.sourceSystem]: 'HIS',
      [ENVELOPE_HEADERS.messageType]: 'ADT^A01',
      [ENVELOPE_HEADERS.controlId]: 'MLLP-1',
      [ENVELOPE_HEADERS.sendingFacility]: 'DEMO_HOSP',
      [ENVELOPE_HEADERS.charset]: 'UNICODE UTF-8',
      [ENVELOPE_HEADERS.contentType]: 'application/hl7-v2',
    });
    expect(Date.parse(record!.headers[ENVELOPE_HEADERS.receivedAt]!)).to.be.closeTo(Date.now(), 60_000);
  });

  it('reassembles frames split across many TCP packets, including inside the end block', async () => {
    const client = await MllpTestClient.connect(port);
    const bytes = Buffer.concat(['FRAG-1', 'FRAG-2', 'FRAG-3'].map((id) => frame(Buffer.from(sampleMessage(id)))));
    const acks = [client.nextAck(), client.nextAck(), client.nextAck()];
    // Cut points chosen to split the VT, the MSH, the FS/CR pair and to join two frames.
    const cuts = [1, 7, 60, bytes.indexOf(0x1c) + 1, bytes.indexOf(0x1c) + 5, bytes.length - 1, bytes.length];
    let from = 0;
    for (const cut of cuts) {
      await client.write(bytes.subarray(from, cut));
      from = cut;
      await sleep(15);
    }
    const codes = (await Promise.all(acks)).map((a) => ackCode(a.toString()));
    client.close();
    expect(codes).to.deep.equal(['FRAG-1', 'FRAG-2', 'FRAG-3'].map((controlId) => ({ code: 'AA', controlId })));
    sent += 3;
  });

  it('serves several messages per connection, ACKs in the order sent, even when the sender does not wait', async () => {
    const client = await MllpTestClient.connect(port);
    const ids = Array.from({ length: 8 }, (_, i) => `PIPE-${i}`);
    const acks = ids.map(() => client.nextAck());
    await client.write(Buffer.concat(ids.map((id) => frame(Buffer.from(sampleMessage(id))))));
    const controlIds = (await Promise.all(acks)).map((a) => ackCode(a.toString()));
    client.close();
    expect(controlIds).to.deep.equal(ids.map((controlId) => ({ code: 'AA', controlId })));
    sent += ids.length;
  });

  it('takes 100 concurrent senders, every message ACKed and in Kafka exactly once', async () => {
    const senders = 100;
    const perSender = 3;
    const clients = await Promise.all(Array.from({ length: senders }, () => MllpTestClient.connect(port)));
    const results = await Promise.all(clients.map(async (client, s) => {
      const codes: string[] = [];
      for (let m = 0; m < perSender; m += 1) codes.push(ackCode(await client.send(sampleMessage(`C${s}-${m}`, { mrn: `P${s}` }), 60_000)).code);
      client.close();
      return codes;
    }));
    expect(results.flat().filter((c) => c !== 'AA')).to.deep.equal([]);
    sent += senders * perSender;
    const records = await harness.awaitRecords(harness.inboundTopic, sent);
    const concurrent = records.map((r) => controlIdOf(r.value)).filter((id) => /^C\d+-\d+$/.test(id));
    expect(concurrent).to.have.length(senders * perSender);
    expect(new Set(concurrent).size).to.equal(senders * perSender);
    expect(harness.connector.metrics().openConnections).to.be.at.most(senders);
  });

  it('refuses an oversized message with AR naming the limit, dead-letters its head, and keeps the connection', async () => {
    const client = await MllpTestClient.connect(port);
    const big = sampleMessage('BIG-1') + `NTE|1||${'x'.repeat(10_000)}\r`;
    const ack = await client.send(big);
    expect(ackCode(ack)).to.deep.equal({ code: 'AR', controlId: 'BIG-1' });
    expect(ackError(ack)?.[5]).to.equal('HL7_MESSAGE_TOO_LARGE^^HUB');
    expect(ackError(ack)?.[8]).to.contain('4096-byte limit');
    // The same connection still works.
    expect(ackCode(await client.send(sampleMessage('AFTER-BIG'))).code).to.equal('AA');
    client.close();
    sent += 1;
    const [dead] = await harness.awaitRecords(harness.deadLetterTopic, 1);
    expect(dead!.headers).to.include({ [DLQ_HEADERS.code]: 'HL7_MESSAGE_TOO_LARGE', [DLQ_HEADERS.truncated]: 'true', [DLQ_HEADERS.stage]: 'intake' });
    expect(dead!.value.length).to.equal(4096); // never more than the limit is kept
    expect(dead!.value.toString()).to.match(/^MSH\|.*\|BIG-1\|/);
  });

  it('refuses a malformed MSH with AR and an ERR naming MSH-2, and dead-letters the exact bytes', async () => {
    const client = await MllpTestClient.connect(port);
    const bad = 'MSH|^^\\&|HIS|DEMO_HOSP|HUB|DEMO_HOSP|20260501||ADT^A01|BAD-MSH|P|2.5\rPID|1||X\r';
    const ack = await client.send(bad);
    client.close();
    expect(ackCode(ack)).to.deep.equal({ code: 'AR', controlId: 'BAD-MSH' });
    const err = ackError(ack)!;
    expect(err[2]).to.equal('MSH^1^2');
    expect(err[5]).to.equal('HL7_ENCODING_CHARACTERS_INVALID^^HUB');
    expect(err[8]).to.contain('MSH-1/MSH-2 delimiters must be distinct');
    const dead = await eventually(async () => (await harness.records(harness.deadLetterTopic)).find((r) => r.headers[DLQ_HEADERS.code] === 'HL7_ENCODING_CHARACTERS_INVALID'), 30_000, 'the dead-letter record');
    expect(dead.value.toString()).to.equal(bad);
    expect(dead.headers[DLQ_HEADERS.stage]).to.equal('parse');
    expect(dead.headers[ENVELOPE_HEADERS.connectorId]).to.equal('his-adt');
  });

  it('round-trips a GB18030 message: the same bytes in Kafka and a GB18030-encoded ACK', async () => {
    const client = await MllpTestClient.connect(port);
    const text = sampleMessage('GB-1', { charset: 'GB 18030-2000', facility: '北京协和医院', family: '张', mrn: '病历123' });
    const bytes = iconv.encode(text, 'gb18030');
    const ackBytes = await client.sendBytes(bytes);
    client.close();
    const ack = iconv.decode(ackBytes, 'gb18030');
    expect(ackCode(ack)).to.deep.equal({ code: 'AA', controlId: 'GB-1' });
    expect(ack.split('\r')[0]!.split('|')[5]).to.equal('北京协和医院'); // MSH-6 of the ACK
    sent += 1;
    const record = await eventually(async () => (await harness.records(harness.inboundTopic)).find((r) => r.headers[ENVELOPE_HEADERS.controlId] === 'GB-1'), 30_000, 'the GB18030 record');
    expect(record.value.equals(bytes)).to.equal(true);
    expect(record.headers[ENVELOPE_HEADERS.charset]).to.equal('GB 18030-2000');
    expect(record.key).to.equal('DEMO_HOSP|病历123');
    expect(iconv.decode(record.value, 'gb18030')).to.equal(text);
  });

  it('answers CA in enhanced mode, and stays silent when MSH-15 says NE while still storing the message', async () => {
    const client = await MllpTestClient.connect(port);
    const ack = await client.send(sampleMessage('ENH-AL', { acceptAck: 'AL', appAck: 'NE' }));
    expect(ackCode(ack)).to.deep.equal({ code: 'CA', controlId: 'ENH-AL' });
    await client.write(frame(Buffer.from(sampleMessage('ENH-NE', { acceptAck: 'NE', appAck: 'AL' }))));
    const next = await client.send(sampleMessage('ENH-ER', { acceptAck: 'ER', appAck: 'NE' }), 3000).catch(() => 'none');
    // ER: no ACK on success either, so nothing at all came back for the last two.
    expect(next).to.equal('none');
    expect(client.unclaimed).to.equal(0);
    client.close();
    sent += 3;
    const records = await harness.awaitRecords(harness.inboundTopic, sent);
    expect(records.map((r) => controlIdOf(r.value))).to.include.members(['ENH-AL', 'ENH-NE', 'ENH-ER']);
  });

  it('closes a connection that stays idle past the idle timeout', async () => {
    const idle = new ConnectorHarness<MllpConnector>({ id: 'idle', kind: 'hl7v2-mllp', sourceSystem: 'LIS', host: '127.0.0.1', port: 0, options: { idleTimeoutMs: 1000 } });
    const connector = await idle.start();
    try {
      const client = await MllpTestClient.connect(connector.port!);
      const started = Date.now();
      await client.closed;
      expect(Date.now() - started).to.be.within(800, 10_000);
      expect(connector.metrics().idleTimeouts).to.equal(1);
    } finally {
      await idle.stop();
    }
  });

  it('serves MLLP over TLS', async function () {
    const dir = mkdtempSync(path.join(tmpdir(), 'mllp-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
        '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    } catch {
      this.skip(); // no openssl on this machine
    }
    const secure = new ConnectorHarness<MllpConnector>({
      id: 'his-tls', kind: 'hl7v2-mllp', sourceSystem: 'HIS', host: '127.0.0.1', port: 0,
      options: { tls: { certFile: path.join(dir, 'cert.pem'), keyFile: path.join(dir, 'key.pem') } },
    });
    const connector = await secure.start();
    try {
      const client = await MllpTestClient.connectTls(connector.port!, readFileSync(path.join(dir, 'cert.pem')));
      expect(ackCode(await client.send(sampleMessage('TLS-1'))).code).to.equal('AA');
      client.close();
      const [record] = await secure.awaitRecords(secure.inboundTopic, 1);
      expect(controlIdOf(record!.value)).to.equal('TLS-1');
    } finally {
      await secure.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports its health and counters', () => {
    expect(harness.connector.health().status).to.equal('up');
    const m = harness.connector.metrics();
    expect(m.accepted).to.equal(sent);
    expect(m.rejected).to.equal(2);
    expect(m.deadLettered).to.equal(2);
    expect(m.oversized).to.equal(1);
    expect(m.acksSuppressed).to.equal(2);
  });
});

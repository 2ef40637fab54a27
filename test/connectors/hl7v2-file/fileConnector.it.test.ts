import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import iconv from 'iconv-lite';
import type { FileConnector } from '../../../connectors/hl7v2-file/fileConnector.ts';
import { ENVELOPE_HEADERS } from '../../../hub/core/inboundEnvelope.ts';
import { DLQ_HEADERS } from '../../../hub/pipeline/deadLetter.ts';
import { eventually } from '../../support/testServices.ts';
import { ConnectorHarness } from '../connectorHarness.ts';
import { controlIdOf, sampleMessage } from '../hl7Samples.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every file under a folder, recursively, relative to it. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name))).sort();
}

function batchFile(prefix: string, count: number, sep = '\r'): string {
  const messages = Array.from({ length: count }, (_, i) => sampleMessage(`${prefix}-${i}`, { mrn: `${prefix}P${i % 5}` }).trimEnd().split('\r').join(sep));
  return [`FHS|^~\\&|LIS|LAB|HUB|HOSP|20260501||||${prefix}-F`, `BHS|^~\\&|LIS|LAB|HUB|HOSP|20260501||||${prefix}-B`, ...messages, `BTS|${count}`, 'FTS|1'].join(sep) + sep;
}

describe('file connector against real Kafka', function () {
  this.timeout(180_000);
  let root: string;
  let harness: ConnectorHarness<FileConnector>;
  const dirs = () => ({ inbox: path.join(root, 'inbox'), archive: path.join(root, 'archive'), error: path.join(root, 'error'), state: path.join(root, 'state') });

  function setup(options: Record<string, unknown> = {}): ConnectorHarness<FileConnector> {
    const d = dirs();
    return new ConnectorHarness<FileConnector>({
      id: 'lis-files', kind: 'hl7v2-file', sourceSystem: 'LIS',
      options: { directory: d.inbox, archiveDirectory: d.archive, errorDirectory: d.error, stateDirectory: d.state, pollIntervalMs: 200, minFileAgeMs: 0, ...options },
    });
  }

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'hub-file-'));
  });
  afterEach(async () => {
    await harness?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('ingests a single message with LF endings and archives the file by day', async () => {
    harness = setup();
    await harness.start();
    const text = sampleMessage('FILE-1').trimEnd().split('\r').join('\n') + '\n';
    writeFileSync(path.join(dirs().inbox, 'adt1.hl7'), text);
    const [record] = await harness.awaitRecords(harness.inboundTopic, 1);
    expect(record!.value.toString()).to.equal(text);
    expect(record!.headers).to.include({ [ENVELOPE_HEADERS.fileName]: 'adt1.hl7', [ENVELOPE_HEADERS.controlId]: 'FILE-1', [ENVELOPE_HEADERS.sourceSystem]: 'LIS' });
    await eventually(async () => (filesUnder(dirs().archive).length === 1 ? true : undefined), 10_000, 'the file to be archived');
    expect(filesUnder(dirs().archive)[0]).to.match(/^\d{4}-\d{2}-\d{2}\/adt1\.hl7$/);
    expect(filesUnder(dirs().inbox)).to.deep.equal([]);
  });

  it('splits an FHS/BHS batch file with CRLF endings into its messages, in order', async () => {
    harness = setup();
    await harness.start();
    writeFileSync(path.join(dirs().inbox, 'results.txt'), batchFile('B', 25, '\r\n'));
    const records = await harness.awaitRecords(harness.inboundTopic, 25);
    expect(records.map((r) => controlIdOf(r.value))).to.deep.equal(Array.from({ length: 25 }, (_, i) => `B-${i}`));
    await eventually(async () => (filesUnder(dirs().archive).length === 1 ? true : undefined), 10_000, 'the batch to be archived');
    expect(harness.connector.metrics()).to.include({ accepted: 25, files: 1, filesArchived: 1, filesFailed: 0 });
  });

  it('moves a file that is not HL7 to the error folder with a reason file, ingesting nothing', async () => {
    harness = setup();
    await harness.start();
    writeFileSync(path.join(dirs().inbox, 'junk.hl7'), 'this is not HL7\r');
    await eventually(async () => (filesUnder(dirs().error).length === 2 ? true : undefined), 10_000, 'the file to reach the error folder');
    expect(filesUnder(dirs().error)).to.deep.equal(['junk.hl7', 'junk.hl7.error.txt']);
    const reason = readFileSync(path.join(dirs().error, 'junk.hl7.error.txt'), 'utf8');
    expect(reason).to.contain('HL7_BATCH_INVALID');
    expect(reason).to.contain('line 1');
    expect(await harness.records(harness.inboundTopic)).to.have.length(0);
  });

  it('ingests the good messages of a batch, dead-letters the bad one and explains it beside the file in the error folder', async () => {
    harness = setup();
    await harness.start();
    const good = (id: string) => sampleMessage(id).trimEnd();
    const bad = 'MSH|^~\\&|LIS|LAB|HUB|HOSP|20260501||ORU^R01||P|2.5\rPID|1||X'; // no MSH-10
    writeFileSync(path.join(dirs().inbox, 'mixed.hl7'), ['BHS|^~\\&', good('M-1'), bad, good('M-3'), 'BTS|3'].join('\r') + '\r');
    await eventually(async () => (filesUnder(dirs().error).length === 2 ? true : undefined), 15_000, 'the file to reach the error folder');
    expect((await harness.records(harness.inboundTopic)).map((r) => controlIdOf(r.value))).to.deep.equal(['M-1', 'M-3']);
    const [dead] = await harness.awaitRecords(harness.deadLetterTopic, 1);
    expect(dead!.headers[DLQ_HEADERS.code]).to.equal('HL7_CONTROL_ID_MISSING');
    expect(dead!.headers[ENVELOPE_HEADERS.fileName]).to.equal('mixed.hl7');
    const reason = readFileSync(path.join(dirs().error, 'mixed.hl7.error.txt'), 'utf8');
    expect(reason).to.contain('2 of 3 messages accepted');
    expect(reason).to.contain('message 2: HL7_CONTROL_ID_MISSING');
  });

  it('keeps GB18030 message bytes intact from a batch file', async () => {
    harness = setup();
    await harness.start();
    const text = sampleMessage('GB-F1', { charset: 'GB 18030-2000', family: '王' }) + sampleMessage('GB-F2', { charset: 'GB 18030-2000', family: '李' });
    writeFileSync(path.join(dirs().inbox, 'gb.hl7'), iconv.encode(text, 'gb18030'));
    const records = await harness.awaitRecords(harness.inboundTopic, 2);
    expect(iconv.decode(records[1]!.value, 'gb18030')).to.equal(sampleMessage('GB-F2', { charset: 'GB 18030-2000', family: '李' }));
    expect(records[1]!.headers[ENVELOPE_HEADERS.charset]).to.equal('GB 18030-2000');
  });

  it('waits until a file has stopped changing before reading it', async () => {
    harness = setup({ minFileAgeMs: 1500 });
    await harness.start();
    const file = path.join(dirs().inbox, 'slow.hl7');
    writeFileSync(file, sampleMessage('SLOW-1'));
    await sleep(600);
    expect(await harness.records(harness.inboundTopic)).to.have.length(0);
    expect(harness.connector.metrics().filesDeferred).to.be.greaterThan(0);
    await harness.awaitRecords(harness.inboundTopic, 1, 15_000);
  });

  it('does not ingest the same file content twice', async () => {
    harness = setup();
    await harness.start();
    writeFileSync(path.join(dirs().inbox, 'a.hl7'), batchFile('D', 3));
    await harness.awaitRecords(harness.inboundTopic, 3);
    await eventually(async () => (filesUnder(dirs().archive).length === 1 ? true : undefined), 10_000, 'the first copy to be archived');
    writeFileSync(path.join(dirs().inbox, 'a-again.hl7'), batchFile('D', 3));
    await eventually(async () => (filesUnder(dirs().archive).length === 2 ? true : undefined), 10_000, 'the second copy to be archived');
    expect(harness.connector.metrics().duplicates).to.equal(1);
    expect(await harness.records(harness.inboundTopic)).to.have.length(3);
  });

  it('restarted in the middle of a directory, resumes mid-file and ingests every message exactly once', async () => {
    harness = setup({ window: 4 });
    const perFile = 200;
    const names = ['f1.hl7', 'f2.hl7', 'f3.hl7'];
    mkdirSync(dirs().inbox, { recursive: true });
    names.forEach((name, i) => {
      writeFileSync(path.join(dirs().inbox, name), batchFile(`R${i}`, perFile));
      // Distinct ages so the oldest-first order is f1, f2, f3.
      const t = new Date(Date.now() - (10 - i) * 1000);
      utimesSync(path.join(dirs().inbox, name), t, t);
    });
    const first = await harness.start();
    while ((first.metrics().accepted ?? 0) < 120) await sleep(2);
    await first.stop();
    const acceptedBefore = first.metrics().accepted!;
    expect(acceptedBefore, 'stopped inside the first file').to.be.below(perFile);
    expect(filesUnder(dirs().inbox)).to.deep.equal(names);

    const second = harness.create();
    harness.connector = second;
    await second.start();
    const records = await harness.awaitRecords(harness.inboundTopic, perFile * names.length, 60_000);
    await eventually(async () => (filesUnder(dirs().archive).length === 3 ? true : undefined), 30_000, 'all files archived');
    const ids = records.map((r) => controlIdOf(r.value));
    expect(ids).to.have.length(perFile * names.length);
    expect(new Set(ids).size).to.equal(perFile * names.length);
    expect(second.metrics().accepted).to.equal(perFile * names.length - acceptedBefore);
    // Order within each file is kept across the restart.
    expect(ids.filter((id) => id.startsWith('R0-'))).to.deep.equal(Array.from({ length: perFile }, (_, i) => `R0-${i}`));
  });

  it('refuses to start a second reader of the same folder', async () => {
    harness = setup();
    await harness.start();
    const other = harness.create();
    try {
      await other.start();
      expect.fail('expected the second reader to be refused');
    } catch (err) {
      expect((err as { code?: string }).code).to.equal('CONNECTOR_DIRECTORY_LOCKED');
    }
  });
});

import { expect } from 'chai';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PollWatermarks } from '../../../connectors/fhir-poll/pollWatermarks.ts';
import { archiveFolder, moveFile, moveToError } from '../../../connectors/hl7v2-file/fileDisposal.ts';
import { FileIngestJournal } from '../../../connectors/hl7v2-file/fileIngestJournal.ts';

const mode = (file: string) => statSync(file).mode & 0o777;

describe('files the connectors keep are readable by the hub user only', () => {
  let root: string;
  beforeEach(() => { root = mkdtempSync(path.join(tmpdir(), 'hub-private-')); });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('archives and refuses a dropped 0644 message as 0600 files in 0700 folders', () => {
    const dropped = path.join(root, 'adt.hl7');
    writeFileSync(dropped, 'MSH|...', { mode: 0o644 });
    const archived = moveFile(dropped, archiveFolder(path.join(root, 'archive')));
    expect(mode(archived)).to.equal(0o600);
    expect(mode(path.dirname(archived))).to.equal(0o700);
    expect(mode(path.join(root, 'archive'))).to.equal(0o700);

    const bad = path.join(root, 'bad.hl7');
    writeFileSync(bad, 'PID|1||ID^^^X||NAME', { mode: 0o644 });
    const refused = moveToError(bad, path.join(root, 'error'), ['HL7_PARSE_FAILED: ...']);
    expect(mode(refused)).to.equal(0o600);
    expect(mode(`${refused}.error.txt`)).to.equal(0o600);
  });

  it('writes the ingest journal and the poll watermarks 0600, and closes an older 0644 journal', () => {
    const journalFile = path.join(root, 'state', 'files.journal.jsonl');
    const journal = new FileIngestJournal(journalFile, 86_400_000);
    journal.open();
    journal.progress('abc', 'Quixborne-adt.hl7', 1, 2);
    journal.close();
    expect(mode(journalFile)).to.equal(0o600);
    expect(mode(path.dirname(journalFile))).to.equal(0o700);
    const older = path.join(root, 'older.journal.jsonl');
    writeFileSync(older, '', { mode: 0o644 });
    const reopened = new FileIngestJournal(older, 86_400_000);
    reopened.open();
    reopened.close();
    expect(mode(older)).to.equal(0o600);

    const marks = new PollWatermarks(path.join(root, 'poll', 'up.fhir-poll.json'), 'http://upstream/fhir');
    marks.set('Patient', { since: '2026-12-01T00:00:00Z', idsAtSince: ['p1'], updatedAt: '2026-12-01T00:00:01Z' });
    expect(mode(path.join(root, 'poll', 'up.fhir-poll.json'))).to.equal(0o600);
    expect(mode(path.join(root, 'poll'))).to.equal(0o700);
  });
});

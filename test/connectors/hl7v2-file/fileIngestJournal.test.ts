import { expect } from 'chai';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileIngestJournal } from '../../../connectors/hl7v2-file/fileIngestJournal.ts';

describe('file ingest journal', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'journal-'));
    file = path.join(dir, 'state', 'c.journal.jsonl');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('remembers progress, refusals and completion across reopening', () => {
    const j = new FileIngestJournal(file, 86_400_000);
    j.open();
    j.progress('aaa', 'a.hl7', 0, 10);
    j.progress('aaa', 'a.hl7', 4, 10);
    j.refused('aaa', { index: 2, controlId: 'C2', code: 'HL7_X', reason: 'bad' });
    j.progress('bbb', 'b.hl7', 3, 3);
    j.complete('bbb', 'b.hl7', 3);
    j.close();

    const again = new FileIngestJournal(file, 86_400_000);
    again.open();
    expect(again.get('aaa')).to.deep.include({ done: 4, total: 10 });
    expect(again.get('aaa')!.refused).to.deep.equal([{ index: 2, controlId: 'C2', code: 'HL7_X', reason: 'bad' }]);
    expect(again.get('aaa')!.completedAt).to.equal(undefined);
    expect(again.get('bbb')!.completedAt).to.be.a('string');
    again.close();
  });

  it('ignores a line torn by a crash', () => {
    const j = new FileIngestJournal(file, 86_400_000);
    j.open();
    j.progress('aaa', 'a.hl7', 5, 10);
    j.close();
    appendFileSync(file, '{"t":"progress","sha":"aaa","fi');
    const again = new FileIngestJournal(file, 86_400_000);
    again.open();
    expect(again.get('aaa')!.done).to.equal(5);
    again.close();
  });

  it('compacts to one line per file and forgets finished files past the retention', () => {
    const j = new FileIngestJournal(file, 1000);
    j.open();
    for (let i = 1; i <= 50; i += 1) j.progress('aaa', 'a.hl7', i, 50);
    j.complete('aaa', 'a.hl7', 50, new Date(Date.now() - 5000));
    j.progress('bbb', 'b.hl7', 7, 9);
    j.close();
    const again = new FileIngestJournal(file, 1000);
    again.open();
    expect(again.get('aaa')).to.equal(undefined);
    expect(again.get('bbb')!.done).to.equal(7);
    again.close();
    expect(readFileSync(file, 'utf8').trim().split('\n')).to.have.length(1);
  });
});

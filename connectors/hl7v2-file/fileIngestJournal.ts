import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';

/** A message of a file that was refused (and dead-lettered), for the file's reason report. */
export interface RefusedMessage {
  index: number;
  controlId?: string;
  code: string;
  reason: string;
}

/** What the journal knows about one file content (by SHA-256). */
export interface FileProgress {
  sha: string;
  file: string;
  /** messages 0..done-1 are in Kafka or dead-lettered */
  done: number;
  total: number;
  refused: RefusedMessage[];
  completedAt?: string;
}

type Entry =
  | { t: 'progress'; sha: string; file: string; done: number; total: number }
  | ({ t: 'refused'; sha: string } & RefusedMessage)
  | { t: 'complete'; sha: string; file: string; total: number; at: string };

/**
 * The file connector's memory across restarts, as an append-only JSON-lines file: how many
 * messages of each file (identified by content checksum, so a renamed copy is the same file)
 * are already in Kafka, and which files were finished. A restart resumes a file after its last
 * recorded message, and a file that was finished but not yet moved is not ingested again.
 *
 * Lines are appended with a write per message (it survives a process crash) and fsynced when a
 * file completes. A torn last line from a crash is ignored. Opening compacts the journal to
 * one line per file, forgetting finished files older than the retention.
 */
export class FileIngestJournal {
  private readonly files = new Map<string, FileProgress>();
  private fd: number | undefined;

  constructor(private readonly journalFile: string, private readonly retentionMs: number) {}

  open(now = Date.now()): void {
    mkdirSync(path.dirname(this.journalFile), { recursive: true, mode: 0o700 });
    if (existsSync(this.journalFile)) {
      for (const line of readFileSync(this.journalFile, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        let entry: Entry;
        try {
          entry = JSON.parse(line) as Entry;
        } catch {
          continue; // a line torn by a crash
        }
        this.apply(entry);
      }
    }
    for (const [sha, p] of this.files) {
      if (p.completedAt && now - Date.parse(p.completedAt) > this.retentionMs) this.files.delete(sha);
    }
    this.compact();
    // file names may name patients: the journal is the hub's alone
    this.fd = openSync(this.journalFile, 'a', 0o600);
  }

  private apply(entry: Entry): void {
    const known = this.files.get(entry.sha);
    if (entry.t === 'progress') {
      const p = known ?? { sha: entry.sha, file: entry.file, done: 0, total: entry.total, refused: [] };
      p.done = Math.max(p.done, entry.done);
      p.total = entry.total;
      this.files.set(entry.sha, p);
    } else if (entry.t === 'refused') {
      if (known && !known.refused.some((r) => r.index === entry.index)) {
        const { t: _t, sha: _sha, ...refused } = entry;
        known.refused.push(refused);
      }
    } else {
      const p = known ?? { sha: entry.sha, file: entry.file, done: entry.total, total: entry.total, refused: [] };
      p.done = entry.total;
      p.completedAt = entry.at;
      this.files.set(entry.sha, p);
    }
  }

  private compact(): void {
    const lines: string[] = [];
    for (const p of this.files.values()) {
      lines.push(JSON.stringify({ t: 'progress', sha: p.sha, file: p.file, done: p.done, total: p.total } satisfies Entry));
      for (const r of p.refused) lines.push(JSON.stringify({ t: 'refused', sha: p.sha, ...r } satisfies Entry));
      if (p.completedAt) lines.push(JSON.stringify({ t: 'complete', sha: p.sha, file: p.file, total: p.total, at: p.completedAt } satisfies Entry));
    }
    const tmp = `${this.journalFile}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, lines.length ? `${lines.join('\n')}\n` : '');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.journalFile);
  }

  get(sha: string): FileProgress | undefined {
    return this.files.get(sha);
  }

  private append(entry: Entry, sync = false): void {
    if (this.fd === undefined) throw new Error('journal is not open');
    writeSync(this.fd, `${JSON.stringify(entry)}\n`);
    if (sync) fsyncSync(this.fd);
    this.apply(entry);
  }

  progress(sha: string, file: string, done: number, total: number): void {
    this.append({ t: 'progress', sha, file, done, total });
  }

  refused(sha: string, message: RefusedMessage): void {
    this.append({ t: 'refused', sha, ...message });
  }

  complete(sha: string, file: string, total: number, at = new Date()): void {
    this.append({ t: 'complete', sha, file, total, at: at.toISOString() }, true);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

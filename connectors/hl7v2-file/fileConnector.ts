import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { HubError, toHubError } from '../../hub/core/hubError.ts';
import { PROJECT_ROOT } from '../../hub/core/schemaValidator.ts';
import { splitHl7Batch, type Hl7BatchSplit } from '../../hub/hl7v2/hl7Batch.ts';
import type { InvalidUtf8Policy } from '../../hub/hl7v2/hl7Charset.ts';
import type { Connector, ConnectorContext, ConnectorHealth, ConnectorKind } from '../connector.ts';
import type { Hl7v2Intake, IntakeResult } from '../hl7v2/hl7v2Intake.ts';
import { intakeFor } from '../hl7v2/intakeFor.ts';
import { archiveFolder, moveFile, moveToError, PRIVATE_DIR_MODE } from './fileDisposal.ts';
import { DirectoryLock } from './directoryLock.ts';
import { FileIngestJournal, type FileProgress } from './fileIngestJournal.ts';
import { recentStoreFailure } from '../listenerHealth.ts';

/** `definitions.hl7v2FileOptions` in schemas/config.schema.json; defaults come from there. */
export interface FileOptions {
  directory: string;
  archiveDirectory?: string;
  errorDirectory?: string;
  stateDirectory?: string;
  /** file name patterns (`*` and `?`), matched without regard to case */
  include: string[];
  pollIntervalMs: number;
  /** a file is read only once it has not changed for this long (its writer has finished) */
  minFileAgeMs: number;
  maxFileBytes: number;
  /** keep processed files in the archive folder (false: delete them) */
  archive: boolean;
  /** `skip`: a file whose content was already ingested is archived without ingesting it again */
  duplicates: 'skip' | 'ingest';
  /** how long finished files are remembered for duplicate detection */
  rememberDays: number;
  /** messages of one file handed to Kafka before the first is confirmed */
  window: number;
  defaultCharset?: string;
  invalidUtf8?: InvalidUtf8Policy;
}


function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

const resolveDir = (p: string) => path.resolve(PROJECT_ROOT, p);

/**
 * Watches a drop folder (by polling, which also works on network shares). Each file — one
 * message, several, or an FHS/BHS batch with any of CR, LF or CRLF endings — is split into
 * messages that go through the HL7v2 intake one by one, in order. A finished file moves to the
 * archive folder; a file with refused messages, or that cannot be read as HL7, moves to the
 * error folder with a `.error.txt` reason beside it. Progress is journaled per message, so a
 * restart resumes where it stopped and never ingests a message twice.
 */
export class FileConnector implements Connector {
  readonly kind = 'hl7v2-file';
  readonly id: string;
  private readonly intake: Hl7v2Intake;
  private readonly inbox: string;
  private readonly archiveDir: string;
  private readonly errorDir: string;
  private readonly stateDir: string;
  private readonly journal: FileIngestJournal;
  private readonly lock: DirectoryLock;
  private readonly patterns: RegExp[];
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private lastScanError: string | undefined;
  private readonly counters = { files: 0, filesArchived: 0, filesFailed: 0, duplicates: 0, filesDeferred: 0, scans: 0 };

  constructor(private readonly ctx: ConnectorContext, private readonly options: FileOptions) {
    this.id = ctx.config.id;
    this.intake = intakeFor(ctx, {
      storeFailureAck: 'AE', ...(options.defaultCharset ? { defaultCharset: options.defaultCharset } : {}), ...(options.invalidUtf8 ? { invalidUtf8: options.invalidUtf8 } : {}),
    });
    this.inbox = resolveDir(options.directory);
    const parent = path.dirname(this.inbox);
    this.archiveDir = resolveDir(options.archiveDirectory ?? path.join(parent, 'archive'));
    this.errorDir = resolveDir(options.errorDirectory ?? path.join(parent, 'error'));
    const stateDir = resolveDir(options.stateDirectory ?? path.join(parent, 'state'));
    this.stateDir = stateDir;
    this.journal = new FileIngestJournal(path.join(stateDir, `${this.id}.journal.jsonl`), options.rememberDays * 86_400_000);
    this.lock = new DirectoryLock(path.join(stateDir, `${this.id}.lock`));
    this.patterns = options.include.map(globToRegExp);
  }

  async start(): Promise<void> {
    // the inbox is the senders' to write to; what the hub keeps is its own
    mkdirSync(this.inbox, { recursive: true });
    for (const dir of [this.archiveDir, this.errorDir, this.stateDir]) mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    this.lock.acquire(this.id);
    try {
      this.journal.open();
    } catch (err) {
      this.lock.release();
      throw new HubError('CONNECTOR_STATE_UNREADABLE', `${this.id}: cannot open its journal: ${(err as Error).message}`);
    }
    this.running = true;
    this.loop = this.run();
    this.ctx.log.info({ connector: this.id, directory: this.inbox, archive: this.archiveDir, error: this.errorDir }, 'file connector watching');
  }

  /** Scans now instead of at the next poll (tests and `hub` tooling use it). */
  poke(): void {
    this.wake?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      await this.scan();
      if (!this.running) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.pollIntervalMs);
        this.wake = () => { clearTimeout(timer); resolve(); };
      });
      this.wake = undefined;
    }
  }

  private candidates(now: number): string[] {
    const files: Array<{ name: string; mtime: number }> = [];
    for (const name of readdirSync(this.inbox)) {
      if (name.startsWith('.') || !this.patterns.some((p) => p.test(name))) continue;
      let stat;
      try {
        stat = statSync(path.join(this.inbox, name));
      } catch {
        continue; // moved away meanwhile
      }
      if (!stat.isFile()) continue;
      if (now - stat.mtimeMs < this.options.minFileAgeMs) {
        this.counters.filesDeferred += 1;
        continue;
      }
      files.push({ name, mtime: stat.mtimeMs });
    }
    // Oldest first: files from one system are usually in event order.
    return files.sort((a, b) => a.mtime - b.mtime || a.name.localeCompare(b.name)).map((f) => f.name);
  }

  private async scan(): Promise<void> {
    this.counters.scans += 1;
    let names: string[];
    try {
      names = this.candidates(Date.now());
      this.lastScanError = undefined;
    } catch (err) {
      this.lastScanError = (err as Error).message;
      this.ctx.log.error({ connector: this.id, err: this.lastScanError }, 'cannot list the inbox');
      return;
    }
    for (const name of names) {
      if (!this.running) return;
      try {
        const finished = await this.ingestFile(name);
        // Kafka refused a write: leave the file, try again at the next poll.
        if (!finished) return;
      } catch (err) {
        const error = toHubError(err, 'CONNECTOR_FILE_FAILED');
        this.ctx.log.error({ connector: this.id, file: name, code: error.code, err: error.message }, 'file could not be processed; it stays in the inbox');
      }
    }
  }

  /** Returns false when the file must be retried later (Kafka unavailable, or stopping). */
  private async ingestFile(name: string): Promise<boolean> {
    const file = path.join(this.inbox, name);
    const bytes = readFileSync(file);
    if (bytes.length > this.options.maxFileBytes) {
      this.fail(file, [`file of ${bytes.length} bytes exceeds the connector's maxFileBytes (${this.options.maxFileBytes}); nothing was ingested`]);
      return true;
    }
    const sha = createHash('sha256').update(bytes).digest('hex');
    const known = this.journal.get(sha);
    if (known?.completedAt && this.options.duplicates === 'skip') {
      this.counters.duplicates += 1;
      this.ctx.log.warn({ connector: this.id, file: name, sameAs: known.file, ingestedAt: known.completedAt }, 'file content was already ingested; archived without ingesting it again');
      this.dispose(file);
      return true;
    }
    let split: Hl7BatchSplit;
    try {
      if (bytes.length === 0) throw new HubError('HL7_BATCH_EMPTY', 'the file is empty');
      split = splitHl7Batch(bytes);
    } catch (err) {
      const error = toHubError(err, 'HL7_BATCH_INVALID');
      this.fail(file, [`nothing was ingested: ${error.code}: ${error.message}`]);
      return true;
    }
    for (const w of split.warnings) this.ctx.log.warn({ connector: this.id, file: name, warning: w }, 'batch envelope inconsistent');
    const total = split.messages.length;
    const resumeAt = known && !known.completedAt ? known.done : 0;
    if (!known || known.completedAt) this.journal.progress(sha, name, 0, total);
    if (resumeAt > 0) this.ctx.log.info({ connector: this.id, file: name, resumeAt, total }, 'resuming a file after a restart');
    const done = await this.ingestMessages(sha, name, split.messages, resumeAt);
    if (done < total) return false;
    this.journal.complete(sha, name, total);
    this.counters.files += 1;
    const progress = this.journal.get(sha)!;
    if (progress.refused.length) this.fail(file, this.refusalReport(name, sha, progress, split.warnings));
    else this.dispose(file);
    return true;
  }

  /**
   * Sends messages [from, end) through the intake, up to `window` at a time, recording in order
   * how far the file got. Stops at the first message Kafka did not take; returns the count done.
   */
  private async ingestMessages(sha: string, name: string, messages: Buffer[], from: number): Promise<number> {
    const inFlight: Array<{ index: number; result: Promise<IntakeResult> }> = [];
    let next = from;
    let done = from;
    let blocked = false;
    while (done < messages.length) {
      while (!blocked && this.running && next < messages.length && inFlight.length < this.options.window) {
        inFlight.push({ index: next, result: this.intake.accept(messages[next]!, { fileName: name }) });
        next += 1;
      }
      const head = inFlight.shift();
      if (!head) break;
      const result = await head.result;
      if (result.outcome === 'error' || blocked) {
        // Later messages may have been written too; they are sent again on retry, which the
        // pipeline absorbs (same message, same resources).
        blocked = true;
        continue;
      }
      if (result.outcome === 'rejected') {
        this.journal.refused(sha, { index: head.index, ...(result.controlId ? { controlId: result.controlId } : {}), code: result.error?.code ?? 'UNKNOWN', reason: result.error?.message ?? '' });
      }
      done = head.index + 1;
      this.journal.progress(sha, name, done, messages.length);
    }
    return done;
  }

  private refusalReport(name: string, sha: string, progress: FileProgress, warnings: string[]): string[] {
    return [
      `file: ${name}`,
      `connector: ${this.id}`,
      `sha256: ${sha}`,
      `result: ${progress.total - progress.refused.length} of ${progress.total} messages accepted; ${progress.refused.length} refused and kept in the dead-letter topic ${this.ctx.hub.kafka.topics.deadLetter}`,
      ...warnings.map((w) => `warning: ${w}`),
      ...progress.refused.sort((a, b) => a.index - b.index).map((r) => `message ${r.index + 1}${r.controlId ? ` (MSH-10 ${r.controlId})` : ''}: ${r.code}: ${r.reason}`),
      'The accepted messages are ingested; dropping this file again would be skipped as a duplicate. Fix the refused messages and drop them as a new file.',
    ];
  }

  private dispose(file: string): void {
    if (this.options.archive) moveFile(file, archiveFolder(this.archiveDir));
    else unlinkSync(file);
    this.counters.filesArchived += 1;
  }

  private fail(file: string, reasons: string[]): void {
    const target = moveToError(file, this.errorDir, reasons);
    this.counters.filesFailed += 1;
    this.ctx.log.warn({ connector: this.id, file: path.basename(file), movedTo: target, reason: reasons[0] }, 'file moved to the error folder');
  }

  health(): ConnectorHealth {
    if (!this.running) return { status: 'down', detail: 'not running' };
    if (this.lastScanError) return { status: 'down', detail: `cannot list ${this.inbox}: ${this.lastScanError}` };
    if (recentStoreFailure(this.intake.lastStoreFailure)) return { status: 'degraded', detail: 'Kafka refused writes in the last 30 s; files wait in the inbox' };
    return { status: 'up' };
  }

  metrics(): Record<string, number> {
    return { ...this.intake.counters, ...this.counters };
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake?.();
    await this.loop;
    this.journal.close();
    this.lock.release();
    this.ctx.log.info({ connector: this.id }, 'file connector stopped');
  }
}

export const hl7v2FileKind: ConnectorKind<FileOptions> = {
  kind: 'hl7v2-file',
  optionsSchema: 'hl7v2FileOptions',
  create: (ctx, options) => new FileConnector(ctx, options),
};

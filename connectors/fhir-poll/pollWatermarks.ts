import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import { HubError } from '../../hub/core/hubError.ts';

/** How far one resource type has been ingested. */
export interface TypeWatermark {
  /** the newest `meta.lastUpdated` ingested, exactly as the upstream wrote it */
  since: string;
  /**
   * ids ingested whose lastUpdated is `since` itself. The next search asks for `ge since` (a
   * `gt` search would lose a resource written later in that same instant), and these are the
   * ones it skips because they are already in Kafka.
   */
  idsAtSince: string[];
  updatedAt: string;
}

interface WatermarkFile {
  version: 1;
  baseUrl: string;
  types: Record<string, TypeWatermark>;
}

/**
 * The poller's memory across restarts: one small JSON file per connector holding the
 * `_lastUpdated` watermark of each resource type. Kept out of Kafka and MongoDB on purpose: the
 * poller must know where it stands even when those are down, and a restart must not re-ingest.
 * Written to a temporary file, fsynced and renamed, so a crash leaves the old or the new file,
 * never half of one. A watermark for another upstream (baseUrl changed) is not used.
 */
export class PollWatermarks {
  private state: WatermarkFile;

  constructor(private readonly file: string, private readonly baseUrl: string) {
    this.state = { version: 1, baseUrl, types: {} };
  }

  static fileFor(stateDirectory: string, connectorId: string): string {
    return path.join(stateDirectory, `${connectorId}.fhir-poll.json`);
  }

  /** Reads the file; false when it belonged to another upstream and was set aside. */
  load(): boolean {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
      throw new HubError('CONNECTOR_STATE_UNREADABLE', `cannot read poll state ${this.file}: ${(err as Error).message}`, { file: this.file });
    }
    let parsed: WatermarkFile;
    try {
      parsed = JSON.parse(text) as WatermarkFile;
    } catch (err) {
      // Refusing to start beats silently re-ingesting everything: a person decides.
      throw new HubError('CONNECTOR_STATE_UNREADABLE', `poll state ${this.file} is not JSON (${(err as Error).message}); fix or remove it to poll from the start`, { file: this.file });
    }
    if (parsed.baseUrl !== this.baseUrl) return false;
    this.state = { version: 1, baseUrl: this.baseUrl, types: parsed.types ?? {} };
    return true;
  }

  get(type: string): TypeWatermark | undefined {
    return this.state.types[type];
  }

  set(type: string, watermark: TypeWatermark): void {
    this.state.types[type] = watermark;
    this.save();
  }

  private save(): void {
    mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const temp = `${this.file}.tmp`;
    const fd = openSync(temp, 'w', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(this.state, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, this.file);
    const dir = openSync(path.dirname(this.file), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  }
}

/** A resource's id and `meta.lastUpdated`, what the watermark is made of. */
export interface IngestedStamp {
  id: string;
  lastUpdated: string;
}

/** Whether a resource a `ge since` search returned was ingested by an earlier run. */
export function ingestedBefore(watermark: TypeWatermark | undefined, stamp: IngestedStamp | undefined): boolean {
  if (!watermark || !stamp) return false;
  return Date.parse(stamp.lastUpdated) === Date.parse(watermark.since) && watermark.idsAtSince.includes(stamp.id);
}

/**
 * The watermark after a run that ingested `stamps` (all confirmed by Kafka): the newest
 * lastUpdated and the ids at that instant. Undefined when nothing moves it forward.
 */
export function advancedWatermark(previous: TypeWatermark | undefined, stamps: IngestedStamp[], now = new Date()): TypeWatermark | undefined {
  const timed = stamps.filter((s) => !Number.isNaN(Date.parse(s.lastUpdated)));
  if (timed.length === 0) return undefined;
  let newest = timed[0]!;
  for (const s of timed) if (Date.parse(s.lastUpdated) > Date.parse(newest.lastUpdated)) newest = s;
  const at = Date.parse(newest.lastUpdated);
  if (previous && at < Date.parse(previous.since)) return undefined;
  const ids = new Set(timed.filter((s) => Date.parse(s.lastUpdated) === at).map((s) => s.id));
  if (previous && at === Date.parse(previous.since)) for (const id of previous.idsAtSince) ids.add(id);
  return { since: newest.lastUpdated, idsAtSince: [...ids].sort(), updatedAt: now.toISOString() };
}

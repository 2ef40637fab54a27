import type { AuditEvent } from 'fhir/r4.js';
import type { Db } from 'mongodb';
import type { Logger } from '../core/logger.ts';
import type { FieldProtector } from './fieldProtector.ts';
import { firstVersionDocument, type CurrentDoc } from './mongoResourceStore.ts';
import { isDuplicateKeyOnly, MongoPostingStore } from './postingStore.ts';
import type { StoredResource } from './resourceStore.ts';

/**
 * AuditEvents appended in batches to the `AuditEvent` collection, in the same document shape
 * as every other resource so the API can read and search them. Recording never waits for the
 * database (a read must not pay for its audit); a failed batch is kept and retried, and
 * `close` drains what is queued. What a crash can lose is the last flush interval's events.
 */
export interface AuditTrail {
  record(event: AuditEvent & { id: string }): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface MongoAuditTrailOptions {
  flushIntervalMs?: number;
  maxBatch?: number;
  /** beyond this many queued events the oldest are dropped and the drop is logged as an error */
  maxQueued?: number;
  /** encryption at rest: AuditEvents sealed when it seals their type (queries name patients) */
  protection?: FieldProtector;
}

export class MongoAuditTrail implements AuditTrail {
  private queue: Array<{ doc: CurrentDoc; postings: string[] }> = [];
  private readonly postings: MongoPostingStore;
  private flushing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly maxBatch: number;
  private readonly maxQueued: number;
  private readonly protection: FieldProtector | undefined;

  constructor(private readonly db: Db, private readonly log: Logger, options: MongoAuditTrailOptions = {}) {
    this.postings = new MongoPostingStore(db);
    this.maxBatch = options.maxBatch ?? 500;
    this.maxQueued = options.maxQueued ?? 100_000;
    this.protection = options.protection;
    this.timer = setInterval(() => { void this.flush(); }, options.flushIntervalMs ?? 100);
    this.timer.unref();
  }

  record(event: AuditEvent & { id: string }): void {
    this.queue.push(firstVersionDocument(event as StoredResource, new Date(), this.protection));
    if (this.queue.length > this.maxQueued) {
      const dropped = this.queue.splice(0, this.queue.length - this.maxQueued);
      this.log.error({ dropped: dropped.length }, 'audit queue full: oldest audit events dropped');
    }
    if (this.queue.length >= this.maxBatch) void this.flush();
  }

  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => { this.flushing = undefined; });
    return this.flushing;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, this.maxBatch);
      try {
        // postings first: an event is never stored without the postings it is searched by
        await this.postings.add(batch.flatMap((b) => b.postings));
        await this.db.collection<CurrentDoc>('AuditEvent').insertMany(batch.map((b) => b.doc), { ordered: false });
      } catch (err) {
        // a duplicate id means that event is already stored: anything else is retried next time
        if (!isDuplicateKeyOnly(err)) {
          this.log.warn({ err: (err as Error).message, queued: this.queue.length }, 'audit write failed; will retry');
          return;
        }
      }
      this.queue.splice(0, batch.length);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    if (this.queue.length > 0) await this.flush();
  }
}

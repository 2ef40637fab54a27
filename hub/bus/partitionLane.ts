import type { BatchHandler, ConsumedRecord, RecordHandler } from './messageBus.ts';

export interface RetryPolicy {
  /** from this attempt on the handler is told to settle the record instead of throwing */
  maxAttempts: number;
  /** delay before the second attempt; it doubles up to maxDelayMs */
  initialDelayMs: number;
  maxDelayMs: number;
}

/** The wait after failed attempt `attempt` (1-based). */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.initialDelayMs * 2 ** Math.min(attempt - 1, 30), policy.maxDelayMs);
}

export interface LaneHooks {
  /**
   * the handler settled the record (and those before it): its offset may be committed. `backlog`:
   * records still waiting; `settled`: how many were settled just now (a batch's size)
   */
  done(record: ConsumedRecord, backlog: number, settled: number): void;
  failed(record: ConsumedRecord, attempt: number, err: unknown, retryInMs: number): void;
  /** a batch failed as a whole; its records are handled one by one next */
  batchFailed?(records: ConsumedRecord[], err: unknown): void;
}

/** Records waiting in a lane are handled together, up to `maxRecords` at a time. */
export interface LaneBatching {
  handler: BatchHandler;
  maxRecords: number;
}

/**
 * The records of one partition, handled in offset order: those waiting together as one batch
 * when a batch handler is given, else one at a time. A batch that fails is handled again record
 * by record; a record whose handler throws waits and is tried again. Only its own lane waits,
 * so other partitions go on. The consumer feeds lanes and commits what they report done.
 */
export class PartitionLane {
  private readonly queue: ConsumedRecord[] = [];
  private readonly stopping = new AbortController();
  private draining: Promise<void> | undefined;

  /**
   * `previous`: the stopping lane this one replaces (the partition was revoked and assigned
   * again) while it may still finish a record; this one starts after it, so one partition's
   * records are never handled side by side.
   */
  constructor(
    private readonly handler: RecordHandler, private readonly policy: RetryPolicy, private readonly hooks: LaneHooks,
    private readonly previous: Promise<void> = Promise.resolve(),
    private readonly batching?: LaneBatching,
  ) {}

  /** records fetched and not yet settled, including the one in hand */
  get backlog(): number {
    return this.queue.length;
  }

  push(record: ConsumedRecord): void {
    if (this.stopping.signal.aborted) return;
    this.queue.push(record);
    this.draining ??= this.drain();
  }

  /**
   * Stops at once: waiting records are dropped (uncommitted, so they are read again), a back-off
   * ends; a handler already running is let finish, and resolves this.
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.queue.length = 0;
    await this.draining;
  }

  private async drain(): Promise<void> {
    await this.previous;
    for (;;) {
      const record = this.queue[0];
      // decided in the same tick as the check, so a push right after starts a new drain
      if (!record || this.stopping.signal.aborted) {
        this.draining = undefined;
        return;
      }
      if (this.batching && this.queue.length > 1 && await this.settleBatch()) continue;
      const settled = await this.settle(record);
      if (this.queue[0] === record) this.queue.shift();
      if (settled) this.hooks.done(record, this.queue.length, 1);
    }
  }

  /** true when the records at the head were settled as one batch (and are off the queue) */
  private async settleBatch(): Promise<boolean> {
    const batch = this.queue.slice(0, this.batching!.maxRecords);
    try {
      await this.batching!.handler(batch);
    } catch (err) {
      this.hooks.batchFailed?.(batch, err);
      return false;
    }
    if (this.queue[0] === batch[0]) this.queue.splice(0, batch.length);
    this.hooks.done(batch[batch.length - 1]!, this.queue.length, batch.length);
    return true;
  }

  /** true once the handler succeeded; false when the lane stopped first */
  private async settle(record: ConsumedRecord): Promise<boolean> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.handler(record, { attempt, final: attempt >= this.policy.maxAttempts });
        return true;
      } catch (err) {
        const delay = backoffDelay(this.policy, attempt);
        this.hooks.failed(record, attempt, err, delay);
        if (!(await waitUnlessStopped(delay, this.stopping.signal))) return false;
      }
    }
  }
}

/** Resolves true after `ms`, or false as soon as the signal aborts. */
function waitUnlessStopped(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

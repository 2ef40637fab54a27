import type { Logger } from '../core/logger.ts';
import type { RecordPosition } from './messageBus.ts';

export interface ProgressSettings {
  /** a partition this many records behind its end starts a catch-up (default 1000) */
  minLag: number;
  /** while catching up, at most one progress line per this many ms (default 10 s) */
  intervalMs: number;
}

const DEFAULTS: ProgressSettings = { minLag: 1000, intervalMs: 10_000 };

interface PartitionState {
  /** the offset after the last settled record */
  next: number;
  /** the partition's end (high watermark) as last known */
  end: number;
  /** fetched and not yet settled */
  waiting: number;
}

interface CatchUp {
  since: number;
  handled: number;
  lineAt: number;
  handledAtLine: number;
}

const round1 = (n: number): number => Math.round(n * 10) / 10;

/**
 * Tells the log how a consumer works off a backlog. Quiet in steady state; once a partition is
 * `minLag` records behind its end it logs a line at once, then at most one every `intervalMs`
 * as records settle (records handled since the last line, rate, lag per partition, ETA), and
 * one summary when every partition it holds has reached its end. Lines come from settles, not
 * a timer: a stalled partition shows in the handler's failure lines instead.
 */
export class ConsumerProgress {
  private readonly settings: ProgressSettings;
  private readonly partitions = new Map<string, PartitionState>();
  private catchUp: CatchUp | undefined;

  constructor(private readonly log: Pick<Logger, 'info'>, settings: Partial<ProgressSettings> = {}, private readonly now: () => number = Date.now) {
    this.settings = { ...DEFAULTS, ...settings };
  }

  /**
   * Records of a partition up to `position.offset` are settled, `count` of them just now;
   * `waiting`: records fetched and not yet settled; `end`: the partition's high watermark,
   * when known.
   */
  settled(position: RecordPosition, count: number, waiting: number, end: number | undefined): void {
    const key = `${position.topic}/${position.partition}`;
    const next = position.offset + 1;
    const known = this.partitions.get(key);
    // fetched records not yet settled lie before the end, even when the end known is stale
    this.partitions.set(key, { next, end: Math.max(known?.end ?? 0, end ?? 0, next), waiting });
    const t = this.now();
    if (!this.catchUp) {
      if (this.lagOf(this.partitions.get(key)!) < this.settings.minLag) return;
      this.catchUp = { since: t, handled: 0, lineAt: t, handledAtLine: 0 };
      this.log.info({ lag: this.lags(), totalLag: this.totalLag() }, 'pipeline catching up');
      return;
    }
    const run = this.catchUp;
    run.handled += count;
    if (this.totalLag() === 0) {
      const seconds = (t - run.since) / 1000;
      this.log.info({ handled: run.handled, seconds: round1(seconds), perSecond: round1(run.handled / Math.max(seconds, 0.001)) }, 'pipeline caught up');
      this.catchUp = undefined;
      return;
    }
    if (t - run.lineAt < this.settings.intervalMs) return;
    const handled = run.handled - run.handledAtLine;
    const perSecond = handled / (Math.max(t - run.lineAt, 1) / 1000);
    const totalLag = this.totalLag();
    this.log.info({
      handled, perSecond: round1(perSecond), lag: this.lags(), totalLag, etaSeconds: perSecond > 0 ? Math.round(totalLag / perSecond) : null,
    }, 'pipeline catching up');
    run.lineAt = t;
    run.handledAtLine = run.handled;
  }

  /** The partition is no longer this consumer's (revoked): its lag is its next owner's to report. */
  forget(position: Pick<RecordPosition, 'topic' | 'partition'>): void {
    this.partitions.delete(`${position.topic}/${position.partition}`);
  }

  private lagOf(p: PartitionState): number {
    return Math.max(p.end - p.next, p.waiting);
  }

  private lags(): Record<string, number> {
    return Object.fromEntries([...this.partitions].map(([key, p]) => [key, this.lagOf(p)]));
  }

  private totalLag(): number {
    let sum = 0;
    for (const p of this.partitions.values()) sum += this.lagOf(p);
    return sum;
  }
}

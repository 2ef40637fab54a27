import type { Logger } from '../hub/core/logger.ts';

/**
 * Warnings about refused connections and requests, at most one line per reason per interval.
 * A flood of refusals (a scanner, a misconfigured sender retrying in a loop) must stay visible
 * without filling the disk: the next line says how many were left out. Reasons are a small
 * fixed set, so the state stays bounded whoever connects.
 */
export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly log: Pick<Logger, 'warn'>, private readonly intervalMs = 10_000) {}

  warn(reason: string, fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    const seen = this.last.get(reason);
    if (seen && now - seen.at < this.intervalMs) {
      seen.suppressed += 1;
      return;
    }
    this.log.warn({ ...fields, reason, ...(seen?.suppressed ? { suppressedSinceLastLine: seen.suppressed } : {}) }, message);
    this.last.set(reason, { at: now, suppressed: 0 });
  }
}

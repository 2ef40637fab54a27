/**
 * Where the pipeline's time goes, per stage (map, store, repair, index, log): summed wall time
 * and how many messages passed, so a benchmark or an operator can see which part bounds ingest.
 * Wall time of a stage that runs for a batch is shared by the batch's messages.
 */
export const PIPELINE_STAGES = ['map', 'store', 'repair', 'index', 'log'] as const;
export type PipelineStageName = (typeof PIPELINE_STAGES)[number];

export class StageTimings {
  private readonly ms = new Map<PipelineStageName, number>();
  messages = 0;
  batches = 0;

  async time<T>(stage: PipelineStageName, fn: () => Promise<T> | T): Promise<T> {
    const started = performance.now();
    try {
      return await fn();
    } finally {
      this.add(stage, performance.now() - started);
    }
  }

  add(stage: PipelineStageName, ms: number): void {
    this.ms.set(stage, (this.ms.get(stage) ?? 0) + ms);
  }

  /** Milliseconds per message for each stage, and the total. */
  perMessage(): Record<PipelineStageName | 'total', number> {
    const n = Math.max(1, this.messages);
    const out = Object.fromEntries(PIPELINE_STAGES.map((s) => [s, (this.ms.get(s) ?? 0) / n])) as Record<PipelineStageName | 'total', number>;
    out.total = PIPELINE_STAGES.reduce((a, s) => a + out[s], 0);
    return out;
  }

  reset(): void {
    this.ms.clear();
    this.messages = 0;
    this.batches = 0;
  }
}

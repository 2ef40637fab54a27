import { blockingKeys } from './blockingKeys.ts';
import type { MatchRules } from './matchRules.ts';
import { scoreOnly } from './matchScorer.ts';
import type { PatientFeatures } from './patientFeatures.ts';

/**
 * Batch matching, pure and in memory: block, score each candidate pair once, then group records
 * into persons by linking pairs at or above the auto-merge threshold, strongest first, never
 * joining two groups that hold a NO_MATCH pair, and always keeping manual groups together.
 * This is what a full re-match, the rule dry-run and the quality benchmark run.
 */
export interface ScoredPair { a: number; b: number; score: number }

export interface ClusteringInput {
  records: PatientFeatures[];
  /** index pairs that must stay together (manual decisions) */
  forced?: Array<[number, number]>;
  /** index pairs that must never be together */
  noMatch?: Array<[number, number]>;
  onProgress?: (done: number, total: number) => void;
}

export interface ClusteringResult {
  /** cluster root index for each record */
  clusterOf: Int32Array;
  /** pairs scoring at or above the review threshold */
  pairs: ScoredPair[];
  comparisons: number;
  skippedBlocks: number;
}

export function candidateBlocks(records: PatientFeatures[], rules: MatchRules): { blocks: Map<string, number[]>; keysOf: string[][] } {
  const blocks = new Map<string, number[]>();
  const keysOf = records.map((r, i) => {
    const keys = blockingKeys(r, rules);
    for (const k of keys) {
      const list = blocks.get(k);
      if (list) list.push(i); else blocks.set(k, [i]);
    }
    return keys;
  });
  return { blocks, keysOf };
}

class UnionFind {
  readonly parent: Int32Array;
  constructor(n: number) {
    this.parent = new Int32Array(n);
    for (let i = 0; i < n; i += 1) this.parent[i] = i;
  }
  find(x: number): number {
    let root = x;
    while (this.parent[root] !== root) root = this.parent[root]!;
    while (this.parent[x] !== root) { const next = this.parent[x]!; this.parent[x] = root; x = next; }
    return root;
  }
}

export function clusterRecords(input: ClusteringInput, rules: MatchRules): ClusteringResult {
  const { records } = input;
  const n = records.length;
  const { blocks, keysOf } = candidateBlocks(records, rules);
  const max = rules.blocking.maxBlockSize;
  let skippedBlocks = 0;
  for (const list of blocks.values()) if (list.length > max) skippedBlocks += 1;

  const pairs: ScoredPair[] = [];
  let comparisons = 0;
  const seen = new Set<number>();
  for (let i = 0; i < n; i += 1) {
    seen.clear();
    for (const k of keysOf[i]!) {
      const list = blocks.get(k)!;
      if (list.length > max) continue;
      for (const j of list) {
        if (j <= i || seen.has(j)) continue;
        seen.add(j);
        comparisons += 1;
        const score = scoreOnly(records[i]!, records[j]!, rules);
        if (score >= rules.thresholds.review) pairs.push({ a: i, b: j, score });
      }
    }
    if (input.onProgress && (i % 5000 === 0 || i === n - 1)) input.onProgress(i + 1, n);
  }

  const uf = new UnionFind(n);
  const members = new Map<number, number[]>();
  const forbidden = new Map<number, Set<number>>();
  for (const [a, b] of input.noMatch ?? []) {
    if (!forbidden.has(a)) forbidden.set(a, new Set());
    if (!forbidden.has(b)) forbidden.set(b, new Set());
    forbidden.get(a)!.add(b);
    forbidden.get(b)!.add(a);
  }
  const membersOf = (root: number) => members.get(root) ?? [root];
  const union = (x: number, y: number, checked: boolean): void => {
    let rx = uf.find(x), ry = uf.find(y);
    if (rx === ry) return;
    const mx = membersOf(rx), my = membersOf(ry);
    if (checked && forbidden.size) {
      const fx = forbidden.get(rx), fy = forbidden.get(ry);
      if (fx || fy) {
        const [small, set] = !fx ? [mx, fy!] : !fy ? [my, fx] : my.length < mx.length ? [my, fx] : [mx, fy];
        if (small.some((m) => set.has(m))) return;
      }
    }
    if (mx.length < my.length) [rx, ry] = [ry, rx];
    uf.parent[ry] = rx;
    members.set(rx, [...membersOf(rx), ...membersOf(ry)]);
    members.delete(ry);
    const fr = forbidden.get(ry);
    if (fr) {
      const into = forbidden.get(rx) ?? new Set<number>();
      for (const v of fr) into.add(v);
      forbidden.set(rx, into);
      forbidden.delete(ry);
    }
  };
  for (const [a, b] of input.forced ?? []) union(a, b, false);
  const strong = pairs.filter((p) => p.score >= rules.thresholds.autoMerge).sort((p, q) => q.score - p.score);
  for (const p of strong) union(p.a, p.b, true);

  const clusterOf = new Int32Array(n);
  for (let i = 0; i < n; i += 1) clusterOf[i] = uf.find(i);
  return { clusterOf, pairs, comparisons, skippedBlocks };
}

import type { Patient } from 'fhir/r4.js';
import { deterministicId } from '../core/deterministicId.ts';
import { blockingKeys } from './blockingKeys.ts';
import type { MatchRules } from './matchRules.ts';
import { scorePair } from './matchScorer.ts';
import type { LinkRecord } from './mpiRecords.ts';
import { patientFeatures, type PatientFeatures } from './patientFeatures.ts';
import type { PatientIndex } from './patientIndex.ts';
import { clusterRecords } from './recordClustering.ts';

/**
 * Re-matching the whole store under a set of rules (the current ones, or a changed file for a
 * dry-run). The plan compares the person groups the rules would form with the golden Patients
 * now in place and lists the links that would appear and disappear. Manual decisions hold:
 * sources linked MANUAL stay with their golden-mates, NO_MATCH pairs are never joined.
 */
export type Progress = (phase: string, done: number, total: number) => void;

export interface RematchPlan {
  sources: number;
  comparisons: number;
  clusters: number;
  /** source pairs that would newly share a golden Patient */
  appear: Array<{ a: string; b: string }>;
  /** source pairs that would no longer share one */
  disappear: Array<{ a: string; b: string }>;
  appearCount: number;
  disappearCount: number;
  moves: Array<{ source: string; from?: string; to: string }>;
  /** possible matches across groups, for the review queue */
  reviews: Array<{ a: string; b: string; score: number }>;
}

const LISTED = 1000;

export async function planRematch(index: PatientIndex, rules: MatchRules, onProgress?: Progress): Promise<RematchPlan> {
  const total = await index.repo.countSources();
  const sameKinds = JSON.stringify(rules.identifierKinds) === JSON.stringify(index.rules.identifierKinds);
  const ids: string[] = [];
  const records: PatientFeatures[] = [];
  for await (const entry of index.repo.allSources()) {
    let features = entry.features;
    if (!sameKinds) {
      const resource = await index.store.read('Patient', entry._id);
      if (resource) features = patientFeatures(resource as Patient & { id: string }, rules, entry.sourceSystem);
    }
    ids.push(entry._id);
    records.push(features);
    if (ids.length % 5000 === 0) onProgress?.('load', ids.length, total);
  }
  onProgress?.('load', ids.length, total);
  const pos = new Map(ids.map((id, i) => [id, i]));
  const links = new Map<string, LinkRecord>();
  for await (const l of index.repo.allLinks()) links.set(l._id, l);

  const byGolden = new Map<string, number[]>();
  ids.forEach((id, i) => {
    const g = links.get(id)?.golden;
    if (!g) return;
    const list = byGolden.get(g);
    if (list) list.push(i); else byGolden.set(g, [i]);
  });
  const forced: Array<[number, number]> = [];
  for (const members of byGolden.values()) {
    const manual = members.filter((i) => links.get(ids[i]!)?.linkSource === 'MANUAL');
    for (const m of manual) for (const o of members) if (o !== m) forced.push([m, o]);
  }
  const noMatch: Array<[number, number]> = [];
  const noMatchSet = new Set<string>();
  for await (const n of index.repo.allNoMatches()) {
    const a = pos.get(n.a), b = pos.get(n.b);
    if (a !== undefined && b !== undefined) { noMatch.push([a, b]); noMatchSet.add(`${Math.min(a, b)}|${Math.max(a, b)}`); }
  }
  const result = clusterRecords({ records, forced, noMatch, onProgress: (d, t) => onProgress?.('match', d, t) }, rules);

  // name each group after the golden Patient most of its members have now (manual ones first)
  const groups = new Map<number, number[]>();
  result.clusterOf.forEach((c, i) => { const l = groups.get(c); if (l) l.push(i); else groups.set(c, [i]); });
  const taken = new Set<string>();
  const assigned = new Array<string>(ids.length);
  const ordered = [...groups.values()].sort((x, y) => y.length - x.length || (ids[x[0]!]! < ids[y[0]!]! ? -1 : 1));
  for (const members of ordered) {
    const votes = new Map<string, number>();
    for (const i of members) {
      const l = links.get(ids[i]!);
      if (l) votes.set(l.golden, (votes.get(l.golden) ?? 0) + (l.linkSource === 'MANUAL' ? 1000 : 1));
    }
    const choice = [...votes.entries()].filter(([g]) => !taken.has(g)).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0]
      ?? deterministicId('mpi-golden', ids[members[0]!]!, 'rematch');
    taken.add(choice);
    for (const i of members) assigned[i] = choice;
  }

  const plan: RematchPlan = { sources: ids.length, comparisons: result.comparisons, clusters: groups.size, appear: [], disappear: [], appearCount: 0, disappearCount: 0, moves: [], reviews: [] };
  for (const members of groups.values()) {
    for (let x = 0; x < members.length; x += 1) for (let y = x + 1; y < members.length; y += 1) {
      const [a, b] = [ids[members[x]!]!, ids[members[y]!]!];
      if (links.get(a)?.golden === undefined || links.get(a)?.golden !== links.get(b)?.golden) {
        plan.appearCount += 1;
        if (plan.appear.length < LISTED) plan.appear.push({ a, b });
      }
    }
  }
  for (const members of byGolden.values()) {
    for (let x = 0; x < members.length; x += 1) for (let y = x + 1; y < members.length; y += 1) {
      if (result.clusterOf[members[x]!] !== result.clusterOf[members[y]!]) {
        plan.disappearCount += 1;
        if (plan.disappear.length < LISTED) plan.disappear.push({ a: ids[members[x]!]!, b: ids[members[y]!]! });
      }
    }
  }
  ids.forEach((id, i) => {
    const from = links.get(id)?.golden;
    if (from !== assigned[i]) plan.moves.push({ source: id, ...(from ? { from } : {}), to: assigned[i]! });
  });
  for (const p of result.pairs) {
    if (result.clusterOf[p.a] === result.clusterOf[p.b] || noMatchSet.has(`${p.a}|${p.b}`)) continue;
    plan.reviews.push({ a: ids[p.a]!, b: ids[p.b]!, score: p.score });
  }
  return plan;
}

/** Applies a plan: moves links (version-checked), recomputes touched golden Patients, retires emptied ones, queues reviews. */
export async function applyRematch(index: PatientIndex, plan: RematchPlan, rules: MatchRules, who: string, onProgress?: Progress): Promise<{ moved: number; retired: number; reviews: number }> {
  const touched = new Set<string>();
  const receivedFrom = new Map<string, Map<string, number>>();
  let moved = 0;
  for (const m of plan.moves) {
    await index.leases.withLeases([m.from, m.to].filter((g): g is string => !!g).map((g) => `golden:${g}`), async () => {
      const current = await index.repo.getLink(m.source);
      if ((current?.golden) !== m.from) return; // changed since the plan: the incremental matcher has it
      const link: LinkRecord = {
        _id: m.source, golden: m.to, state: 'MATCH', linkSource: current?.linkSource ?? 'AUTO', who, why: 'rematch', at: index.timestamp(), version: (current?.version ?? 0) + 1,
      };
      if (await index.repo.putLink(link, current?.version ?? 0)) {
        moved += 1;
        touched.add(m.to);
        if (m.from) {
          touched.add(m.from);
          const r = receivedFrom.get(m.from) ?? new Map<string, number>();
          r.set(m.to, (r.get(m.to) ?? 0) + 1);
          receivedFrom.set(m.from, r);
        }
        await index.audit({ action: 'REMATCH', who, source: m.source, golden: m.to, ...(m.from ? { other: m.from } : {}) });
      }
    });
    if (moved % 1000 === 0) onProgress?.('apply', moved, plan.moves.length);
  }
  let retired = 0, done = 0;
  for (const golden of touched) {
    await index.leases.withLeases([`golden:${golden}`], async () => {
      if ((await index.repo.linksOfGolden(golden)).length) return index.refreshGolden(golden);
      const heir = [...(receivedFrom.get(golden)?.entries() ?? [])].sort((a, b) => b[1] - a[1])[0]?.[0];
      if (heir) { await index.retireGolden(golden, heir); retired += 1; }
    });
    done += 1;
    if (done % 1000 === 0) onProgress?.('golden', done, touched.size);
  }
  if (JSON.stringify(rules) !== JSON.stringify(index.rules)) {
    // blocking keys (and identifier kinds) follow the rules now in force
    for await (const entry of index.repo.allSources()) {
      const resource = await index.store.read('Patient', entry._id);
      if (!resource) continue;
      const features = patientFeatures(resource as Patient & { id: string }, rules, entry.sourceSystem);
      await index.repo.putSource({ ...entry, features, keys: blockingKeys(features, rules) }, entry.keys);
    }
    index.rules = rules;
  }
  let reviews = 0;
  for (const r of plan.reviews) {
    const [ea, eb] = await index.repo.getSources([r.a, r.b]).then((xs) => [xs.find((x) => x._id === r.a), xs.find((x) => x._id === r.b)]);
    const gb = await index.goldenOf(r.b);
    if (!ea || !eb || !gb) continue;
    await index.queueReview(r.a, gb, scorePair(ea.features, eb.features, rules));
    reviews += 1;
  }
  onProgress?.('apply', plan.moves.length, plan.moves.length);
  return { moved, retired, reviews };
}

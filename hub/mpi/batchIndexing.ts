import type { Patient, PatientLink } from 'fhir/r4.js';
import { mapBounded } from '../core/boundedParallel.ts';
import { deterministicId } from '../core/deterministicId.ts';
import type { StoredResource } from '../store/resourceStore.ts';
import { blockingKeys } from './blockingKeys.ts';
import { scorePair, type PairScore } from './matchScorer.ts';
import { rankCandidates } from './candidateRanking.ts';
import type { AuditEntry, LinkRecord, SourceEntry } from './mpiRecords.ts';
import { patientFeatures } from './patientFeatures.ts';
import { sourceSystemOf, type IndexOutcome, type PatientIndex } from './patientIndex.ts';
import { buildGoldenPatient, isGoldenPatient, type GoldenSource } from './survivorship.ts';

/**
 * Matches many new source Patients at once with the I/O of one: their Patients, sources and
 * links read with one `$in` each, their blocking keys and source entries written together,
 * every block read once, the new links, golden records and audit entries written in bulk, all
 * under one set of leases. Decisions are made in order, each seeing those before it (a record
 * can join the golden record an earlier record of the batch created), so the result is what
 * `indexSource` one by one gives. Anything off the common path (an already linked source that
 * changed, a golden record merged away meanwhile, a link another worker wrote first) is handed
 * to `indexSource` after the batch.
 */
export async function indexSources(index: PatientIndex, ids: string[]): Promise<IndexOutcome[]> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return [];
  if (unique.length === 1) return [await index.indexSource(unique[0]!)];
  const { rules, repo, store } = index;
  const [patients, previous, links] = await Promise.all([
    store.readMany('Patient', unique), repo.getSources(unique), repo.getLinks(unique),
  ]);
  const patientOf = new Map(patients.map((p) => [p.id, p as Patient & { id: string }]));
  const previousOf = new Map(previous.map((p) => [p._id, p]));
  const linkOf = new Map(links.map((l) => [l._id, l]));

  const outcomes = new Map<string, IndexOutcome>();
  const later: string[] = [];
  const fresh: SourceEntry[] = [];
  for (const id of unique) {
    const patient = patientOf.get(id);
    if (!patient || isGoldenPatient(patient)) {
      outcomes.set(id, { source: id, golden: '', action: 'skipped', reviews: 0 });
      continue;
    }
    const sourceSystem = sourceSystemOf(patient);
    const features = patientFeatures(patient, rules, sourceSystem);
    const keys = blockingKeys(features, rules);
    const updatedAt = patient.meta?.lastUpdated ?? '';
    const prev = previousOf.get(id);
    const link = linkOf.get(id);
    if (prev && link && prev.updatedAt === updatedAt && prev.keys.length === keys.length && prev.keys.every((k) => keys.includes(k))) {
      outcomes.set(id, { source: id, golden: link.golden, action: 'unchanged', reviews: 0 });
    } else if (link) later.push(id); // an update of a linked source: its golden record is recomputed under its own lease
    else fresh.push({ _id: id, features, keys, sourceSystem, updatedAt });
  }

  if (fresh.length) {
    const blockNames = fresh.flatMap((e) => [...e.keys, ...(previousOf.get(e._id)?.keys ?? [])]).map((k) => `block:${k}`);
    await index.leases.withLeases(blockNames, (held) => matchFresh(index, fresh, previousOf, held, outcomes, later));
  }
  for (const id of later) outcomes.set(id, await index.indexSource(id));
  return unique.map((id) => outcomes.get(id)!);
}

interface Decision {
  entry: SourceEntry;
  golden: string;
  newGolden: boolean;
  best?: { source: string; score: PairScore };
  reviews: Array<[string, PairScore]>;
}

async function matchFresh(
  index: PatientIndex, fresh: SourceEntry[], previousOf: Map<string, SourceEntry>, held: Set<string>,
  outcomes: Map<string, IndexOutcome>, later: string[],
): Promise<void> {
  const { rules, repo, store } = index;
  await repo.putSources(fresh.map((entry) => ({ entry, previousKeys: previousOf.get(entry._id)?.keys ?? [] })));
  const blocks = await repo.blockMembers(fresh.flatMap((e) => e.keys), rules.blocking.maxBlockSize);
  const candidatesOf = new Map(fresh.map((e) => [e._id, rankCandidates(e.keys, blocks, e._id, rules.blocking.maxCandidates)]));
  const candidateIds = [...new Set([...candidatesOf.values()].flat())];
  const [candidateSources, candidateLinks, noMatches] = await Promise.all([
    repo.getSources(candidateIds), repo.getLinks(candidateIds), mapBounded(fresh, 16, (e) => repo.noMatchesOf(e._id)),
  ]);
  const sourceOf = new Map(candidateSources.map((s) => [s._id, s]));
  const goldenOf = new Map(candidateLinks.map((l) => [l._id, l.golden]));

  // decide in order: a record sees the links the records before it were given
  const decisions: Decision[] = [];
  const firstIds = new Map(fresh.map((e) => [e._id, deterministicId('mpi-golden', e._id, undefined)]));
  const taken = new Set((await store.readMany('Patient', [...firstIds.values()])).map((p) => p.id));
  fresh.forEach((entry, n) => {
    const blocked = new Set(noMatches[n]!.map((s) => goldenOf.get(s)).filter((g): g is string => !!g));
    const best = new Map<string, { source: string; score: PairScore }>();
    for (const c of candidatesOf.get(entry._id)!) {
      const golden = goldenOf.get(c);
      const features = sourceOf.get(c)?.features ?? fresh.find((f) => f._id === c)?.features;
      if (!golden || !features || blocked.has(golden)) continue;
      const score = scorePair(entry.features, features, rules);
      if (score.score < rules.thresholds.review) continue;
      const prev = best.get(golden);
      if (!prev || score.score > prev.score.score) best.set(golden, { source: c, score });
    }
    const top = [...best.entries()].sort((a, b) => b[1].score.score - a[1].score.score)[0];
    const match = top && top[1].score.classification === 'MATCH' ? top : undefined;
    const first = firstIds.get(entry._id)!;
    // a retired golden id is never brought back under a new meaning: such a record goes the long way
    if (!match && taken.has(first)) {
      later.push(entry._id);
      return;
    }
    const golden = match ? match[0] : first;
    goldenOf.set(entry._id, golden);
    decisions.push({ entry, golden, newGolden: !match, ...(match ? { best: match[1] } : {}), reviews: [...best.entries()].filter(([g]) => g !== golden).map(([g, b]) => [g, b.score]) });
  });

  const existing = [...new Set(decisions.filter((d) => !d.newGolden).map((d) => d.golden))].filter((g) => !decisions.some((d) => d.newGolden && d.golden === g));
  const goldens = [...new Set(decisions.map((d) => d.golden))];
  await index.leases.withLeases(goldens.map((g) => `golden:${g}`), async () => {
    // a golden record merged away since it was read: its records take the long way (they follow the survivor)
    const retired = new Set((await store.readMany('Patient', existing)).filter((g) => (g as Patient).link?.some((l) => l.type === 'replaced-by')).map((g) => g.id));
    const moving = decisions.filter((d) => retired.has(d.golden));
    for (const d of moving) later.push(d.entry._id);
    const go = decisions.filter((d) => !moving.includes(d));
    const at = index.timestamp();
    const written = await repo.putNewLinks(go.map((d): LinkRecord => ({
      _id: d.entry._id, golden: d.golden, state: 'MATCH', linkSource: 'AUTO', who: 'system', at, version: 1,
      ...(d.best ? { score: d.best.score.score, fields: d.best.score.fields, why: `auto-match with Patient/${d.best.source}` } : { why: 'no match above the auto-merge threshold' }),
    })));
    const done = go.filter((d) => written.has(d.entry._id));
    for (const d of go) if (!written.has(d.entry._id)) later.push(d.entry._id);
    // a golden record made in this batch has exactly the members this batch gave it, and no merges
    const created = new Map<string, string[]>();
    for (const d of done) if (!existing.includes(d.golden)) created.set(d.golden, [...(created.get(d.golden) ?? []), d.entry._id]);
    await refreshGoldens(index, [...new Set(done.map((d) => d.golden))], created);
    await repo.auditMany(done.map((d): AuditEntry => (d.best
      ? { at, action: 'LINK_AUTO', who: 'system', source: d.entry._id, golden: d.golden, score: d.best.score.score, other: d.best.source }
      : { at, action: 'NEW_GOLDEN', who: 'system', source: d.entry._id, golden: d.golden })));
    for (const d of done) {
      for (const [g, s] of d.reviews) await index.queueReview(d.entry._id, g, s);
      outcomes.set(d.entry._id, {
        source: d.entry._id, golden: d.golden, action: d.newGolden ? 'new-golden' : 'linked', reviews: d.reviews.length,
        ...(d.best ? { score: d.best.score.score } : {}),
      });
    }
  }, held);
}

/** Recomputes golden records from their sources (callers hold their leases), written as one batch. */
async function refreshGoldens(index: PatientIndex, goldens: string[], created: Map<string, string[]>): Promise<void> {
  if (!goldens.length) return;
  const members = await mapBounded(goldens, 16, async (g) => created.get(g) ?? (await index.repo.linksOfGolden(g)).map((l) => l._id));
  const merges = await mapBounded(goldens, 16, (g) => (created.has(g) ? Promise.resolve([]) : index.repo.appliedMergesInto(g)));
  const sources = new Map((await index.store.readMany('Patient', members.flat())).map((r) => [r.id, r]));
  const resources = goldens.flatMap((golden, i) => {
    const list: GoldenSource[] = [...members[i]!].sort().flatMap((id) => {
      const r = sources.get(id);
      return r ? [{ resource: r as Patient & { id: string }, sourceSystem: sourceSystemOf(r as Patient), updatedAt: r.meta?.lastUpdated ?? '' }] : [];
    });
    if (!list.length) return [];
    const replaces: PatientLink[] = merges[i]!.map((m) => ({ other: { reference: `Patient/${m.from}` }, type: 'replaces' }));
    return [buildGoldenPatient(golden, list, index.rules, replaces) as StoredResource];
  });
  await index.store.writeMany(resources.map((resource) => ({ resource })));
}

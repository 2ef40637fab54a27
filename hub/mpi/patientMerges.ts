import type { Patient } from 'fhir/r4.js';
import { deterministicId } from '../core/deterministicId.ts';
import { HubError } from '../core/hubError.ts';
import type { PatientDirective } from '../core/patientDirective.ts';
import type { LinkRecord } from './mpiRecords.ts';
import type { PatientIndex } from './patientIndex.ts';

/**
 * Merge and unmerge of golden Patients, NO_MATCH decisions and the A40/A37 statements of source
 * systems. Without transactions, a merge is journaled: its snapshot is written first (pending),
 * then links move one by one with version checks, then it is marked applied; the snapshot is
 * what unmerge restores.
 */
export interface MergeResult { mergeId: string; from: string; into: string; moved: string[] }
export interface UnmergeResult { mergeId: string; from: string; into: string; restored: string[]; rematched: string[] }

const idOf = (ref: string) => ref.replace(/^Patient\//, '');

function withoutMeta(p: Patient | undefined): Record<string, unknown> {
  if (!p) return {};
  const { meta: _meta, ...rest } = p;
  return rest;
}

export async function mergeGoldens(index: PatientIndex, fromRef: string, intoRef: string, who: string, why: string, options: { force?: boolean } = {}): Promise<MergeResult> {
  const from = await index.resolveGolden(fromRef);
  const into = await index.resolveGolden(intoRef);
  if (from === into) throw new HubError('MPI_MERGE_SAME_RECORD', `Patient/${idOf(fromRef)} and Patient/${idOf(intoRef)} already belong to golden Patient/${into}`, { httpStatus: 422 });
  return index.leases.withLeases([`golden:${from}`, `golden:${into}`], async () => {
    if ((await index.survivorOf(from)) || (await index.survivorOf(into))) {
      throw new HubError('MPI_MERGE_CONFLICT', `Patient/${from} or Patient/${into} was merged by someone else meanwhile; retry`);
    }
    const fromLinks = await index.repo.linksOfGolden(from);
    const intoLinks = await index.repo.linksOfGolden(into);
    if (!options.force) {
      const intoIds = new Set(intoLinks.map((l) => l._id));
      for (const l of fromLinks) {
        const conflict = (await index.repo.noMatchesOf(l._id)).find((o) => intoIds.has(o));
        if (conflict) throw new HubError('MPI_MERGE_CONFLICT', `Patient/${l._id} and Patient/${conflict} were declared NO_MATCH; remove that decision before merging`);
      }
    }
    const at = index.timestamp();
    const mergeId = deterministicId('mpi-merge', from, into, at);
    await index.repo.insertMerge({
      _id: mergeId, from, into, status: 'pending', who, why, at, linksBefore: [...fromLinks, ...intoLinks],
      goldenBefore: {
        [from]: withoutMeta(await index.store.read('Patient', from) as Patient | undefined),
        [into]: withoutMeta(await index.store.read('Patient', into) as Patient | undefined),
      },
    });
    for (const l of fromLinks) {
      const moved: LinkRecord = { ...l, golden: into, linkSource: 'MANUAL', who, why, at, mergeId, version: l.version + 1 };
      delete moved.score; delete moved.fields;
      if (!(await index.repo.putLink(moved, l.version))) {
        throw new HubError('MPI_MERGE_CONFLICT', `the link of Patient/${l._id} changed during the merge; retry (merge ${mergeId} stays pending)`);
      }
    }
    await index.repo.setMergeStatus(mergeId, 'pending', 'applied');
    await index.refreshGolden(into);
    await index.retireGolden(from, into);
    await resolveReviewsBetween(index, [...fromLinks, ...intoLinks].map((l) => l._id), [from, into], who, at);
    await index.audit({ action: 'MERGE', who, why, golden: into, other: from, mergeId, detail: { moved: fromLinks.map((l) => l._id) } });
    return { mergeId, from, into, moved: fromLinks.map((l) => l._id) };
  });
}

async function resolveReviewsBetween(index: PatientIndex, sources: string[], goldens: string[], who: string, at: string): Promise<void> {
  for (const golden of goldens) {
    const { items } = await index.repo.listReviews({ status: 'OPEN', golden, count: 1000 });
    for (const item of items) if (sources.includes(item.source)) await index.repo.decideReview(item._id, 'RESOLVED', who, 'merged', at);
  }
}

/**
 * Undoes a merge: every link both golden Patients had before it comes back as it was, the
 * retired golden Patient is active again, both are recomputed from their sources (so source
 * updates received since the merge are kept), and source records that joined the survivor after
 * the merge are matched again against the restored state. The two sides are then NO_MATCH, so
 * automatic matching does not merge them again.
 */
export async function unmerge(index: PatientIndex, ref: string, who: string, why: string): Promise<UnmergeResult> {
  const merge = (await index.repo.getMerge(ref)) ?? (await index.repo.latestAppliedMergeFrom(idOf(ref)));
  if (!merge) throw new HubError('MPI_MERGE_NOT_FOUND', `no merge ${ref} (give a merge id or the merged-away golden Patient)`);
  if (merge.status !== 'applied') throw new HubError('MPI_UNMERGE_CONFLICT', `merge ${merge._id} is ${merge.status}, not applied`);
  if (await index.survivorOf(merge.into)) throw new HubError('MPI_UNMERGE_CONFLICT', `Patient/${merge.into} was merged again since; undo that merge first`);
  const { from, into } = merge;
  const result = await index.leases.withLeases([`golden:${from}`, `golden:${into}`], async () => {
    const before = new Map(merge.linksBefore.map((l) => [l._id, l]));
    const later = (await index.repo.linksOfGolden(into)).filter((l) => !before.has(l._id));
    for (const l of merge.linksBefore) {
      const current = await index.repo.getLink(l._id);
      const ok = await index.repo.putLink({ ...l, version: (current?.version ?? 0) + 1 }, current?.version ?? 0);
      if (!ok) throw new HubError('MPI_UNMERGE_CONFLICT', `the link of Patient/${l._id} changed during the unmerge; retry`);
    }
    const rematch: string[] = [];
    for (const l of later) {
      if (l.linkSource === 'AUTO' && (await index.repo.deleteLink(l._id, l.version))) rematch.push(l._id);
    }
    const at = index.timestamp();
    await index.repo.setMergeStatus(merge._id, 'applied', 'undone', { undoneAt: at, undoneBy: who });
    await index.refreshGolden(from);
    await index.refreshGolden(into);
    const fromSide = merge.linksBefore.filter((l) => l.golden === from).map((l) => l._id);
    const intoSide = merge.linksBefore.filter((l) => l.golden === into).map((l) => l._id);
    for (const a of fromSide) for (const b of intoSide) await index.repo.addNoMatch({ _id: '', a, b, who, why: `unmerge ${merge._id}: ${why}`, at });
    await index.audit({ action: 'UNMERGE', who, why, golden: into, other: from, mergeId: merge._id, detail: { restored: [...before.keys()], rematch } });
    return { mergeId: merge._id, from, into, restored: [...before.keys()], rematched: rematch };
  });
  // outside the golden leases: matching takes block leases first, then golden ones
  for (const id of result.rematched) await index.indexSource(id);
  return result;
}

/** Moves one source out of its golden Patient into a golden Patient of its own (MANUAL). */
export async function unlinkSource(index: PatientIndex, sourceRef: string, who: string, why: string): Promise<string | undefined> {
  const source = idOf(sourceRef);
  const link = await index.repo.getLink(source);
  if (!link) throw new HubError('MPI_PATIENT_NOT_INDEXED', `Patient/${source} is not in the patient index`);
  if ((await index.repo.linksOfGolden(link.golden)).length < 2) return undefined;
  const golden = await index.newGoldenId(source, index.timestamp());
  await index.leases.withLeases([`golden:${link.golden}`, `golden:${golden}`], async () => {
    const ok = await index.repo.putLink({ _id: source, golden, state: 'MATCH', linkSource: 'MANUAL', who, why, at: index.timestamp(), version: link.version + 1 }, link.version);
    if (!ok) throw new HubError('MPI_LINK_CONFLICT', `the link of Patient/${source} changed meanwhile; retry`);
    await index.refreshGolden(golden);
    await index.refreshGolden(link.golden);
  });
  await index.audit({ action: 'UNLINK', who, why, source, golden, other: link.golden });
  return golden;
}

/** NO_MATCH between two source records; if they share a golden Patient, `b` leaves it. */
export async function declareNoMatch(index: PatientIndex, aRef: string, bRef: string, who: string, why: string): Promise<void> {
  const a = idOf(aRef), b = idOf(bRef);
  await index.repo.addNoMatch({ _id: '', a, b, who, why, at: index.timestamp() });
  await index.audit({ action: 'NO_MATCH', who, why, source: a, other: b });
  const [la, lb] = [await index.repo.getLink(a), await index.repo.getLink(b)];
  if (la && lb && la.golden === lb.golden) await unlinkSource(index, b, who, why);
}

/** A source system's own statement about its records: A40 merge, A37 unlink. */
export async function applyDirective(index: PatientIndex, d: PatientDirective): Promise<void> {
  const who = `${d.sourceSystem} ${d.kind === 'merge' ? 'A40' : 'A37'}${d.controlId ? ` ${d.controlId}` : ''}`;
  if (d.kind === 'unlink') {
    await declareNoMatch(index, d.patient, d.other, who, 'the source system unlinked these records');
    return;
  }
  const [survivor, retired] = [await index.store.read('Patient', idOf(d.survivor)), await index.store.read('Patient', idOf(d.retired))];
  if (!survivor || !retired) {
    await index.audit({ action: 'MERGE', who, why: 'nothing to merge: a record of the directive is not stored', source: idOf(d.survivor), other: idOf(d.retired) });
    return;
  }
  await index.repo.removeNoMatch(idOf(d.survivor), idOf(d.retired));
  const [gs, gr] = [await index.resolveGolden(d.survivor), await index.resolveGolden(d.retired)];
  if (gs !== gr) await mergeGoldens(index, gr, gs, who, 'the source system merged these records', { force: true });
}

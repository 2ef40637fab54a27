import { HubError } from '../core/hubError.ts';
import type { ReviewFilter, ReviewItem } from './mpiRecords.ts';
import { declareNoMatch, mergeGoldens, type MergeResult } from './patientMerges.ts';
import type { PatientIndex } from './patientIndex.ts';

/**
 * The review queue of POSSIBLE_MATCH pairs (a source record and a golden Patient it may belong
 * to). Accepting merges the source's golden Patient into the candidate; rejecting records
 * NO_MATCH against every source of the candidate so automatic matching never proposes it again.
 */
export async function listReview(index: PatientIndex, filter: ReviewFilter): Promise<{ items: ReviewItem[]; total: number }> {
  return index.repo.listReviews({ status: 'OPEN', ...filter });
}

async function openItem(index: PatientIndex, id: string): Promise<ReviewItem> {
  const item = await index.repo.getReview(id);
  if (!item) throw new HubError('MPI_REVIEW_NOT_FOUND', `no review item ${id}`);
  if (item.status !== 'OPEN') throw new HubError('MPI_REVIEW_CONFLICT', `review item ${id} is already ${item.status}${item.decidedBy ? ` (by ${item.decidedBy})` : ''}`);
  return item;
}

export async function acceptReview(index: PatientIndex, id: string, who: string, reason = 'accepted in review'): Promise<MergeResult | undefined> {
  const item = await openItem(index, id);
  const sourceGolden = await index.resolveGolden(item.source);
  const candidate = (await index.survivorOf(item.golden)) ?? item.golden;
  let result: MergeResult | undefined;
  if (sourceGolden !== candidate) result = await mergeGoldens(index, sourceGolden, candidate, who, reason);
  await index.repo.decideReview(id, 'ACCEPTED', who, reason, index.timestamp());
  await index.audit({ action: 'REVIEW_ACCEPTED', who, why: reason, source: item.source, golden: candidate, score: item.score, ...(result ? { mergeId: result.mergeId } : {}) });
  return result;
}

export async function rejectReview(index: PatientIndex, id: string, who: string, reason: string): Promise<void> {
  if (!reason.trim()) throw new HubError('MPI_REVIEW_REASON_REQUIRED', 'rejecting a possible match needs a reason', { httpStatus: 400 });
  const item = await openItem(index, id);
  const golden = (await index.survivorOf(item.golden)) ?? item.golden;
  for (const other of await index.sourcesOf(golden)) {
    if (other !== item.source) await declareNoMatch(index, item.source, other, who, reason);
  }
  await index.repo.decideReview(id, 'REJECTED', who, reason, index.timestamp());
  await index.audit({ action: 'REVIEW_REJECTED', who, why: reason, source: item.source, golden, score: item.score });
}

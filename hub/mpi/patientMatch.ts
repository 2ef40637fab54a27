import type { Patient } from 'fhir/r4.js';
import { blockingKeys } from './blockingKeys.ts';
import { scorePair, type PairScore } from './matchScorer.ts';
import { patientFeatures } from './patientFeatures.ts';
import type { PatientIndex } from './patientIndex.ts';

/**
 * Patient/$match: scores a Patient that is not stored against the index and answers golden
 * Patients, best first. Grades follow IHE PDQm: certain (at or above auto-merge), probable (at or
 * above review), possible (within half the gap below review); lower is not returned.
 */
export type MatchGrade = 'certain' | 'probable' | 'possible' | 'certainly-not';

export interface MatchCandidate {
  golden: string;
  source: string;
  score: PairScore;
  grade: MatchGrade;
  /** the log-likelihood total squashed to (0, 1) around the midpoint of the two thresholds */
  probability: number;
}

export function matchGrade(score: number, t: { autoMerge: number; review: number }): MatchGrade {
  if (score >= t.autoMerge) return 'certain';
  if (score >= t.review) return 'probable';
  if (score >= t.review - (t.autoMerge - t.review) / 2) return 'possible';
  return 'certainly-not';
}

export function matchProbability(score: number, t: { autoMerge: number; review: number }): number {
  const mid = (t.autoMerge + t.review) / 2;
  const p = 1 / (1 + 2 ** (-(score - mid) / 2));
  return Math.round(p * 10000) / 10000;
}

export async function matchPatient(index: PatientIndex, input: Patient, options: { count?: number; onlyCertain?: boolean } = {}): Promise<MatchCandidate[]> {
  const features = patientFeatures({ ...input, id: input.id ?? '$match' }, index.rules);
  const keys = blockingKeys(features, index.rules);
  const ids = await index.repo.candidateIds(keys, '$match', index.rules.blocking.maxCandidates, index.rules.blocking.maxBlockSize);
  const [sources, links] = await Promise.all([index.repo.getSources(ids), index.repo.getLinks(ids)]);
  const goldenOf = new Map(links.map((l) => [l._id, l.golden]));
  const best = new Map<string, MatchCandidate>();
  for (const s of sources) {
    const golden = goldenOf.get(s._id);
    if (!golden) continue;
    const score = scorePair(features, s.features, index.rules);
    const grade = matchGrade(score.score, index.rules.thresholds);
    if (grade === 'certainly-not' || (options.onlyCertain && grade !== 'certain')) continue;
    const prev = best.get(golden);
    if (!prev || score.score > prev.score.score) {
      best.set(golden, { golden, source: s._id, score, grade, probability: matchProbability(score.score, index.rules.thresholds) });
    }
  }
  return [...best.values()].sort((a, b) => b.score.score - a.score.score).slice(0, options.count ?? 10);
}

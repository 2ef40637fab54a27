import { compareField } from './fieldComparators.ts';
import { levelWeight, type ComparisonLevel, type MatchRules } from './matchRules.ts';
import type { PatientFeatures } from './patientFeatures.ts';

/** How a pair of records scored, field by field, so a reviewer can see why. */
export interface FieldScore {
  field: string;
  comparator: string;
  /** undefined: missing on one side, no evidence */
  level?: ComparisonLevel;
  weight: number;
  m?: number;
  u?: number;
}

export type MatchClass = 'MATCH' | 'POSSIBLE_MATCH' | 'NO_MATCH';

export interface PairScore {
  score: number;
  classification: MatchClass;
  fields: FieldScore[];
  thresholds: { autoMerge: number; review: number };
}

export function classify(score: number, thresholds: MatchRules['thresholds']): MatchClass {
  if (score >= thresholds.autoMerge) return 'MATCH';
  if (score >= thresholds.review) return 'POSSIBLE_MATCH';
  return 'NO_MATCH';
}

/** Fellegi–Sunter total: the sum of log2(m/u) over the fields both records carry. */
export function scorePair(a: PatientFeatures, b: PatientFeatures, rules: MatchRules): PairScore {
  const fields: FieldScore[] = [];
  let score = 0;
  for (const field of rules.fields) {
    const level = compareField(field, a, b, rules);
    const weight = level ? levelWeight(field, level) : 0;
    const mu = level ? field.levels[level] : undefined;
    fields.push({ field: field.name, comparator: field.comparator, ...(level ? { level } : {}), weight: round(weight), ...(mu ? { m: mu.m, u: mu.u } : {}) });
    score += weight;
  }
  return { score: round(score), classification: classify(score, rules.thresholds), fields, thresholds: { ...rules.thresholds } };
}

/** Same total as scorePair without building the explanation: the batch matcher's inner loop. */
export function scoreOnly(a: PatientFeatures, b: PatientFeatures, rules: MatchRules): number {
  let score = 0;
  for (const field of rules.fields) {
    const level = compareField(field, a, b, rules);
    if (level) score += levelWeight(field, level);
  }
  return score;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

import type { FieldScore } from './matchScorer.ts';
import type { PatientFeatures } from './patientFeatures.ts';

/**
 * The documents the patient index keeps next to the FHIR store. Source and golden Patients
 * themselves live in the ResourceStore; these record how they are tied together and why.
 */
export type LinkSource = 'AUTO' | 'MANUAL';

/** A source Patient's membership: exactly one MATCH link per indexed source. */
export interface LinkRecord {
  _id: string; // source Patient id
  golden: string;
  state: 'MATCH';
  linkSource: LinkSource;
  score?: number;
  fields?: FieldScore[];
  who: string;
  why: string;
  at: string;
  /** the merge that put it here, when a merge did */
  mergeId?: string;
  version: number;
}

export interface SourceEntry {
  _id: string; // source Patient id
  features: PatientFeatures;
  keys: string[];
  sourceSystem: string;
  /** the source resource's meta.lastUpdated when indexed */
  updatedAt: string;
}

/** NO_MATCH: a person (or the source system, A37) said these two source records are different people. */
export interface NoMatchRecord {
  _id: string;
  a: string;
  b: string;
  who: string;
  why: string;
  at: string;
}

export type ReviewStatus = 'OPEN' | 'ACCEPTED' | 'REJECTED' | 'RESOLVED';

/** POSSIBLE_MATCH: a source record that may belong to another golden Patient, waiting for a person. */
export interface ReviewItem {
  _id: string;
  source: string;
  golden: string;
  score: number;
  fields: FieldScore[];
  thresholds: { autoMerge: number; review: number };
  status: ReviewStatus;
  createdAt: string;
  updatedAt: string;
  decidedBy?: string;
  reason?: string;
}

export interface MergeSnapshot {
  _id: string;
  from: string;
  into: string;
  status: 'pending' | 'applied' | 'undone';
  who: string;
  why: string;
  at: string;
  /** every link of both golden Patients as it was before the merge */
  linksBefore: LinkRecord[];
  /** both golden Patients as they were before the merge (without meta) */
  goldenBefore: Record<string, unknown>;
  undoneAt?: string;
  undoneBy?: string;
}

export interface AuditEntry {
  _id?: string;
  at: string;
  action: 'LINK_AUTO' | 'NEW_GOLDEN' | 'SOURCE_UPDATED' | 'REVIEW_QUEUED' | 'REVIEW_ACCEPTED' | 'REVIEW_REJECTED'
    | 'MERGE' | 'UNMERGE' | 'NO_MATCH' | 'UNLINK' | 'RELINK' | 'REMATCH';
  who: string;
  why?: string;
  source?: string;
  golden?: string;
  other?: string;
  mergeId?: string;
  score?: number;
  detail?: Record<string, unknown>;
}

export interface ReviewFilter {
  status?: ReviewStatus;
  golden?: string;
  source?: string;
  minScore?: number;
  offset?: number;
  count?: number;
}

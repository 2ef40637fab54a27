import type { Resource } from 'fhir/r4.js';
import type { DateRange } from './fhirDateRange.ts';

/** Narrow storage interface for FHIR resources; MongoDB implements it in mongoResourceStore.ts. */
export type StoredResource = Resource & { id: string };

/** created / updated / unchanged (same content) / stale (older than what is stored, not applied) */
export type WriteOutcome = 'created' | 'updated' | 'unchanged' | 'stale';

export interface WriteRequest {
  resource: StoredResource;
  /** when the event happened at the source; an older event never overwrites a newer one */
  sourceTime?: string;
  /** who writes (the pipeline: the source message id), kept with the version for provenance and crash repair */
  writer?: string;
}

export interface WriteResult {
  outcome: WriteOutcome;
  versionId: string;
  lastUpdated: string;
  /** unchanged or stale: who wrote the stored version (see WriteRequest.writer) */
  writtenBy?: string;
}

export type CriterionOp = 'eq' | 'ne' | 'in' | 'exists' | 'gt' | 'ge' | 'lt' | 'le' | 'prefix' | 'contains';

/** One condition on an element path of the resource (`subject.reference`, `name.family`). */
export interface Criterion {
  path: string;
  op: CriterionOp;
  value?: string | number | boolean | Array<string | number>;
  /** case-insensitive string match (prefix, contains, eq) */
  ignoreCase?: boolean;
}

/** FHIR comparison prefixes for ordered values (date, quantity). */
export type ComparisonPrefix = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le' | 'sa' | 'eb' | 'ap';

/** One value a search parameter is compared with, against the entries indexed at write time. */
export type IndexMatch =
  | { kind: 'string'; value: string; mode: 'prefix' | 'exact' | 'contains' }
  /** token (`code`, `system|code`, `|code`, `system|`) or reference (`Type/id`) entry, exact */
  | { kind: 'entry'; value: string }
  | { kind: 'date'; prefix: ComparisonPrefix; range: DateRange }
  /** `decimals` is the precision the client wrote, which makes `eq` a range (FHIR implicit precision) */
  | { kind: 'quantity'; prefix: ComparisonPrefix; value: number; decimals: number; system?: string; code?: string };

/** A condition on an indexed search parameter (see hub/store/searchParameterTable.ts). */
export interface IndexCriterion {
  param: string;
  /** the resource matches when any alternative holds (comma-separated values) */
  anyOf?: IndexMatch[];
  /** `:not` - no entry equals any of the alternatives (entry matches only) */
  negate?: boolean;
  /** `:missing` - true: no entries at all; false: at least one */
  missing?: boolean;
}

export interface SearchQuery {
  /** all must hold; each criterion's `anyOf` semantics come from `in` */
  criteria: Criterion[];
  /** all must hold; conditions on indexed search parameters */
  where?: IndexCriterion[];
  /** by search parameter; ties are broken by id so pages stay stable */
  sortBy?: Array<{ param: string; descending?: boolean }>;
  /** alternatives: the resource matches if any group matches (empty = no extra condition) */
  anyOf?: Criterion[][];
  sort?: Array<{ path: string; descending?: boolean }>;
  offset?: number;
  count?: number;
  /** compute the total match count (costs a second query) */
  total?: boolean;
}

export interface SearchResult {
  resources: StoredResource[];
  total?: number;
}

/**
 * Types written once and never versioned: the audit trail appends AuditEvents to the current
 * collection without history copies, so there is no history or past version to read.
 */
export const TYPES_WITHOUT_HISTORY: ReadonlySet<string> = new Set(['AuditEvent']);

/** A page of versions from the history of one resource (`id`) or of every resource of a type. */
export interface HistoryQuery {
  /** one resource's versions; absent = every resource of the type */
  id?: string;
  /** only versions stored at or after this instant */
  since?: Date;
  offset: number;
  count: number;
  /** compute the number of matching versions (costs a second query) */
  total?: boolean;
}

export interface ResourceStore {
  write(request: WriteRequest): Promise<WriteResult>;
  /** a batch, as if written one by one in order, in a few bulk round trips */
  writeMany(requests: readonly WriteRequest[]): Promise<WriteResult[]>;
  /**
   * Completes what an interrupted write of these resources' current versions may have left out
   * (history copy, postings); returns how many parts it wrote.
   */
  repair(refs: Array<{ type: string; id: string }>): Promise<number>;
  read(type: string, id: string): Promise<StoredResource | undefined>;
  readVersion(type: string, id: string, versionId: string): Promise<StoredResource | undefined>;
  /** versions newest first: by lastUpdated, then id, then versionId, so pages do not overlap */
  historyPage(type: string, query: HistoryQuery): Promise<SearchResult>;
  search(type: string, query: SearchQuery): Promise<SearchResult>;
  /** current versions of the given ids that exist, in no particular order */
  readMany(type: string, ids: string[]): Promise<StoredResource[]>;
  /** distinct index entries of one parameter over the matches (e.g. the Patients a set of Encounters names); at most `limit` */
  entriesOf(type: string, query: SearchQuery, param: string, limit: number): Promise<string[]>;
  /** resources of a Patient-compartment type that name any of the Patients (`Patient/<id>`), in id order */
  inPatientCompartment(type: string, patientRefs: string[]): Promise<StoredResource[]>;
  /** every match, in id order, fetched in batches (bulk export) */
  scan(type: string, query: SearchQuery): AsyncIterable<StoredResource>;
}

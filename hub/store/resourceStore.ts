import type { Resource } from 'fhir/r4.js';

/** Narrow storage interface for FHIR resources; MongoDB implements it in mongoResourceStore.ts. */
export type StoredResource = Resource & { id: string };

/** created / updated / unchanged (same content) / stale (older than what is stored, not applied) */
export type WriteOutcome = 'created' | 'updated' | 'unchanged' | 'stale';

export interface WriteRequest {
  resource: StoredResource;
  /** when the event happened at the source; an older event never overwrites a newer one */
  sourceTime?: string;
}

export interface WriteResult {
  outcome: WriteOutcome;
  versionId: string;
  lastUpdated: string;
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

export interface SearchQuery {
  /** all must hold; each criterion's `anyOf` semantics come from `in` */
  criteria: Criterion[];
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

export interface ResourceStore {
  write(request: WriteRequest): Promise<WriteResult>;
  read(type: string, id: string): Promise<StoredResource | undefined>;
  readVersion(type: string, id: string, versionId: string): Promise<StoredResource | undefined>;
  /** newest first */
  history(type: string, id: string): Promise<StoredResource[]>;
  search(type: string, query: SearchQuery): Promise<SearchResult>;
}

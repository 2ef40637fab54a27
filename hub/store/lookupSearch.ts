import type { IndexCriterion, SearchQuery, SearchResult, StoredResource } from './resourceStore.ts';
import { allHold, compareForSort, type IndexedDoc } from './searchIndexMatch.ts';
import { lookupConditionFor } from './searchLookupKeys.ts';
import type { SearchLookups } from './searchLookups.ts';

/**
 * A search answered from lookup documents: the conditions that have lookups give candidate ids
 * (intersected), the candidates are read by id and every condition is checked on their stored
 * search entries. When every condition is answered exactly by its lookups and no sort is asked
 * for, only the page is read and the total is the number of ids. Answers undefined when the
 * query cannot be served this way, and the caller runs its query.
 */
export type LookupDoc = IndexedDoc & { resource: StoredResource };

export interface LookupSearchDeps {
  lookups: SearchLookups;
  /** the documents that exist among `ids` (read by `_id`) */
  fetch(type: string, ids: string[]): Promise<LookupDoc[]>;
  /** more candidates than this (when they must all be read) and the query path is cheaper */
  maxCandidates: number;
}

interface Candidates {
  ids: string[];
  exact: boolean;
}

async function candidatesFor(deps: LookupSearchDeps, type: string, where: IndexCriterion[]): Promise<Candidates | undefined> {
  const plans = where.map((c) => lookupConditionFor(type, c));
  const usable = plans.filter((p): p is NonNullable<typeof p> => p !== undefined);
  if (usable.length === 0 || !(await deps.lookups.isComplete(type))) return undefined;
  const lists = await Promise.all(usable.map((p) => deps.lookups.idsFor(p.keys)));
  let ids: Set<string> | undefined;
  let exact = plans.every((p) => p !== undefined);
  for (const [i, list] of lists.entries()) {
    if (!list) { exact = false; continue; } // too common: the other conditions narrow it, or nothing does
    if (!usable[i]!.exact) exact = false;
    ids = ids ? new Set(list.filter((id) => ids!.has(id))) : new Set(list);
  }
  return ids ? { ids: [...ids].sort(), exact } : undefined;
}

function servable(query: SearchQuery): boolean {
  return query.criteria.length === 0 && !query.anyOf?.length && !query.sort?.length && (query.where?.length ?? 0) > 0;
}

/** Every match, checked and sorted, or undefined when the lookups cannot answer. */
async function allMatches(deps: LookupSearchDeps, type: string, query: SearchQuery, c: Candidates): Promise<LookupDoc[] | undefined> {
  if (c.ids.length > deps.maxCandidates) return undefined;
  const docs = (await deps.fetch(type, c.ids)).filter((d) => allHold(d, query.where ?? []));
  return docs.sort(compareForSort(query.sortBy ?? []));
}

export async function searchByLookups(deps: LookupSearchDeps, type: string, query: SearchQuery): Promise<SearchResult | undefined> {
  if (!servable(query)) return undefined;
  const c = await candidatesFor(deps, type, query.where!);
  if (!c) return undefined;
  const offset = query.offset ?? 0;
  const end = query.count === undefined ? undefined : offset + query.count;
  if (c.exact && !query.sortBy?.length) {
    // ids are already in the query path's order (by id); the page is re-checked in case a list is stale
    const pageIds = c.ids.slice(offset, end);
    const page = pageIds.length && query.count !== 0 ? (await deps.fetch(type, pageIds)).filter((d) => allHold(d, query.where!)) : [];
    page.sort(compareForSort([]));
    return { resources: page.map((d) => d.resource), ...(query.total ? { total: c.ids.length } : {}) };
  }
  const all = await allMatches(deps, type, query, c);
  if (!all) return undefined;
  const resources = query.count === 0 ? [] : all.slice(offset, end).map((d) => d.resource);
  return { resources, ...(query.total ? { total: all.length } : {}) };
}

/** The ids of the matches (chains, _has), when the lookups can answer. */
export async function idsByLookups(deps: LookupSearchDeps, type: string, query: SearchQuery, limit: number): Promise<string[] | undefined> {
  if (!servable(query)) return undefined;
  const c = await candidatesFor(deps, type, query.where!);
  if (!c) return undefined;
  if (c.exact) return c.ids.slice(0, limit);
  const all = await allMatches(deps, type, { ...query, sortBy: [] }, c);
  return all?.slice(0, limit).map((d) => d._id);
}

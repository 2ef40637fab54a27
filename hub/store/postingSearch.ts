import { HubError } from '../core/hubError.ts';
import { criterionRanges, resourceIdOfPosting, type CriterionRanges, type PostingValueHasher } from './postingKeys.ts';
import type { MongoPostingStore } from './postingStore.ts';
import type { IndexCriterion, SearchQuery, SearchResult, StoredResource } from './resourceStore.ts';
import { searchIndexFor } from './searchIndex.ts';
import { allHold, compareForSort, sortKeysFor, type IndexedDoc } from './searchIndexMatch.ts';

/**
 * Runs a search over the posting index (postingKeys.ts): the most selective condition the index
 * serves drives (its ranges counted in the index first), the other conditions narrow its
 * candidates by their own postings when those are few, and what postings cannot decide
 * (`:missing`, `:not`, `:contains`, quantities, date ends) is checked in memory on the fetched
 * resources. A single exact condition pages straight from the index. Work is bounded by
 * `maxCandidates`; beyond it a search that needs every match (a sort, an exact total) is refused
 * as too costly, and a page is answered without a total.
 */
export interface PostingSearchSource {
  postings: MongoPostingStore;
  /** current resources with these ids, in any order */
  readMany(type: string, ids: string[]): Promise<StoredResource[]>;
  /** current resources in id order */
  pageAll(type: string, skip: number, limit: number | undefined): Promise<StoredResource[]>;
  countAll(type: string): Promise<number>;
  scanAll(type: string): AsyncIterable<StoredResource>;
  /** how the postings' values were hashed (encryption at rest), so conditions hash alike */
  hasher?: PostingValueHasher;
}

const BATCH = 200;
/** counting a scan's candidate drivers stops here: past it, a condition is large either way */
const SCAN_DRIVER_CAP = 100_001;
/** another condition's postings are read to narrow the candidates when there are at most this many (or 4x the candidates) */
const NARROW_MIN = 200;
/** An exact total is worth fetching and checking this many candidates for; beyond it the total is left out. */
const TOTAL_FETCH_BUDGET = 1000;

export function tooCostly(what: string, limit: number): HubError {
  return new HubError('API_SEARCH_TOO_COSTLY', `${what} would look at more than ${limit} resources; add a more selective condition (identifier, name, birthdate, patient)`, { path: what, httpStatus: 422 });
}

interface Plan {
  criterion: IndexCriterion;
  ranges?: CriterionRanges;
}

const indexed = (r: StoredResource): IndexedDoc => {
  const search = searchIndexFor(r);
  return { _id: r.id, search, sortKey: sortKeysFor(search) };
};

/** Postings in the ranges, counted up to `cap` each when given (a sum past the cap only says "large"). */
async function countRanges(src: PostingSearchSource, ranges: CriterionRanges, cap?: number): Promise<number> {
  const counts = await Promise.all(ranges.ranges.map((r) => src.postings.count(r, cap)));
  return counts.reduce((a, b) => a + b, 0);
}

async function* driverIds(src: PostingSearchSource, ranges: CriterionRanges): AsyncIterable<string> {
  const seen = new Set<string>();
  for (const range of ranges.ranges) {
    for await (const posting of src.postings.scan(range)) {
      const id = resourceIdOfPosting(posting);
      if (seen.has(id)) continue;
      seen.add(id);
      yield id;
    }
  }
}

async function idSet(src: PostingSearchSource, ranges: CriterionRanges): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const id of driverIds(src, ranges)) out.add(id);
  return out;
}

async function* inBatches<T>(items: AsyncIterable<T>, size: number): AsyncIterable<T[]> {
  let batch: T[] = [];
  for await (const item of items) {
    batch.push(item);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

async function* listed(ids: string[]): AsyncIterable<string> {
  yield* ids;
}

async function readInOrder(src: PostingSearchSource, type: string, ids: string[]): Promise<StoredResource[]> {
  if (ids.length === 0) return [];
  const byId = new Map((await src.readMany(type, ids)).map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id)).filter((r): r is StoredResource => r !== undefined);
}

export async function postingSearch(src: PostingSearchSource, type: string, query: SearchQuery, maxCandidates: number): Promise<SearchResult> {
  if (query.criteria.length || query.anyOf?.length || query.sort?.length) {
    throw new HubError('STORE_QUERY_UNSUPPORTED', 'path criteria are not served by the posting index; use search parameters (where)');
  }
  const offset = query.offset ?? 0;
  const count = query.count;
  const sortBy = query.sortBy ?? [];
  const where = query.where ?? [];

  let ids: string[] | undefined;
  const plans: Plan[] = [];
  for (const c of where) {
    if (c.param === '_id' && c.anyOf && !c.negate && c.missing === undefined) {
      const listedIds = c.anyOf.flatMap((m) => (m.kind === 'entry' ? [m.value] : []));
      ids = ids ? ids.filter((id) => listedIds.includes(id)) : [...new Set(listedIds)];
      continue;
    }
    const ranges = criterionRanges(type, c, src.hasher);
    plans.push({ criterion: c, ...(ranges ? { ranges } : {}) });
  }

  // no condition at all: the collection itself, in id order
  if (!ids && plans.length === 0) {
    if (sortBy.length === 0) {
      const [resources, total] = await Promise.all([
        count === 0 ? Promise.resolve([]) : src.pageAll(type, offset, count),
        query.total ? src.countAll(type) : Promise.resolve(undefined),
      ]);
      return { resources, ...(total !== undefined ? { total } : {}) };
    }
    const n = await src.countAll(type);
    if (n > maxCandidates) throw tooCostly(`_sort over every ${type}`, maxCandidates);
    const all: StoredResource[] = [];
    for await (const r of src.scanAll(type)) all.push(r);
    return sortedPage(all, sortBy, offset, count, query.total ?? false);
  }

  // the driver: listed ids, else the indexed condition with the fewest postings, else every resource
  // choosing a driver among several conditions needs no exact count past what could be worked through
  const cap = plans.length > 1 || ids ? maxCandidates + 1 : undefined;
  const counted = await Promise.all(plans.map(async (p) => (p.ranges ? countRanges(src, p.ranges, cap) : Infinity)));
  let driver: number | undefined;
  if (!ids) {
    for (let i = 0; i < plans.length; i += 1) if (counted[i]! < Infinity && (driver === undefined || counted[i]! < counted[driver]!)) driver = i;
  }
  const driverPlan = driver !== undefined ? plans[driver] : undefined;

  // one exact condition with one range: the page and the total come from the index alone
  if (driverPlan?.ranges?.exact && driverPlan.ranges.ranges.length === 1 && plans.length === 1 && sortBy.length === 0) {
    const total = counted[driver!]!;
    const postings = count === 0 ? [] : await src.postings.page(driverPlan.ranges.ranges[0]!, count ?? maxCandidates, { skip: offset });
    const resources = await readInOrder(src, type, postings.map(resourceIdOfPosting));
    return { resources, ...(query.total ? { total } : {}) };
  }

  // other indexed conditions with few postings narrow the candidates by id before any fetch
  const driverCountOf = () => (ids ? ids.length : driver !== undefined ? counted[driver]! : Infinity);
  const checks: Plan[] = [];
  const narrowing: Array<Set<string>> = [];
  for (let i = 0; i < plans.length; i += 1) {
    const p = plans[i]!;
    if (i === driver && p.ranges!.exact) continue;
    // reading another condition's postings pays only when they are few next to the candidates;
    // otherwise its check in memory on the fetched candidates is cheaper
    if (i !== driver && p.ranges && counted[i]! <= Math.min(maxCandidates, Math.max(NARROW_MIN, 4 * driverCountOf()))) {
      narrowing.push(await idSet(src, p.ranges));
      if (p.ranges.exact) continue;
    }
    checks.push(p);
  }
  const criteria = checks.map((p) => p.criterion);

  let candidates: AsyncIterable<string[]> | undefined;
  let fetched: AsyncIterable<StoredResource[]> | undefined;
  let driverCount: number;
  if (ids) {
    candidates = inBatches(listed([...ids].sort()), BATCH);
    driverCount = ids.length;
  } else if (driverPlan) {
    candidates = inBatches(driverIds(src, driverPlan.ranges!), BATCH);
    driverCount = counted[driver!]!;
  } else {
    driverCount = await src.countAll(type);
    if (driverCount > maxCandidates) throw tooCostly(plans.map((p) => p.criterion.param).join(','), maxCandidates);
    fetched = inBatches(src.scanAll(type), BATCH);
  }

  // a total that needs every candidate fetched and checked is computed only for few candidates
  const withTotal = (query.total ?? false) && (criteria.length === 0 || driverCount <= TOTAL_FETCH_BUDGET);
  const needAll = sortBy.length > 0 || withTotal;
  const want = count === undefined ? Infinity : offset + count;
  const matchedIds: string[] = [];
  const pageResources: StoredResource[] = [];
  const allMatched: StoredResource[] = [];
  let looked = 0;
  let complete = true;

  const consider = (batchIds: string[], resources: Map<string, StoredResource> | undefined): void => {
    for (const id of batchIds) {
      if (narrowing.some((s) => !s.has(id))) continue;
      let r: StoredResource | undefined;
      if (resources) {
        r = resources.get(id);
        if (!r || !allHold(indexed(r), criteria)) continue;
      }
      matchedIds.push(id);
      if (sortBy.length && r) allMatched.push(r);
      else if (r && matchedIds.length > offset && matchedIds.length <= want) pageResources.push(r);
    }
  };

  const batches = fetched
    ? (async function* () { for await (const b of fetched!) yield { ids: b.map((r) => r.id), resources: new Map(b.map((r) => [r.id, r])) }; })()
    : (async function* () { for await (const b of candidates!) yield { ids: b, resources: undefined as Map<string, StoredResource> | undefined }; })();

  for await (const batch of batches) {
    looked += batch.ids.length;
    let resources = batch.resources;
    const survivors = batch.ids.filter((id) => !narrowing.some((s) => !s.has(id)));
    // fetch only what must be checked or shown
    const mustFetch = criteria.length > 0 || sortBy.length > 0 || matchedIds.length < want;
    if (!resources && mustFetch && survivors.length) {
      resources = new Map((await src.readMany(type, survivors)).map((r) => [r.id, r]));
    }
    consider(survivors, resources);
    if (matchedIds.length >= want && !needAll) break;
    if (looked >= maxCandidates) {
      complete = false;
      break;
    }
  }
  if (!complete && sortBy.length) throw tooCostly(`_sort of ${type}`, maxCandidates);
  if (!complete && matchedIds.length < want && matchedIds.length <= offset) throw tooCostly(`${type} search`, maxCandidates);

  if (sortBy.length) return sortedPage(allMatched, sortBy, offset, count, query.total ?? false);
  // ids matched by postings alone (no check) may still lack a fetched resource for the page
  const pageIds = matchedIds.slice(offset, count === undefined ? undefined : offset + count);
  const resources = pageResources.length === pageIds.length ? pageResources : await readInOrder(src, type, pageIds);
  return { resources, ...(withTotal && complete ? { total: matchedIds.length } : {}) };
}

function sortedPage(all: StoredResource[], sortBy: Array<{ param: string; descending?: boolean }>, offset: number, count: number | undefined, withTotal: boolean): SearchResult {
  const docs = all.map((r) => ({ doc: indexed(r), r }));
  const compare = compareForSort(sortBy);
  docs.sort((a, b) => compare(a.doc, b.doc));
  const page = docs.slice(offset, count === undefined ? undefined : offset + count).map((d) => d.r);
  return { resources: page, ...(withTotal ? { total: all.length } : {}) };
}

/**
 * Every match of a search, streamed in the driving condition's order with every condition
 * checked in memory (bulk export, chains): no bound, no total, no sort.
 */
export async function* postingScan(src: PostingSearchSource, type: string, query: SearchQuery): AsyncIterable<StoredResource> {
  if (query.criteria.length || query.anyOf?.length || query.sort?.length) {
    throw new HubError('STORE_QUERY_UNSUPPORTED', 'path criteria are not served by the posting index; use search parameters (where)');
  }
  const where = query.where ?? [];
  let ids: string[] | undefined;
  const rest: IndexCriterion[] = [];
  for (const c of where) {
    if (c.param === '_id' && c.anyOf && !c.negate && c.missing === undefined) {
      const listedIds = c.anyOf.flatMap((m) => (m.kind === 'entry' ? [m.value] : []));
      ids = ids ? ids.filter((id) => listedIds.includes(id)) : [...new Set(listedIds)];
    } else rest.push(c);
  }
  if (!ids && rest.length === 0) {
    yield* src.scanAll(type);
    return;
  }
  let best: { ranges: CriterionRanges; n: number } | undefined;
  if (!ids) {
    for (const c of rest) {
      const ranges = criterionRanges(type, c, src.hasher);
      if (!ranges) continue;
      const n = await countRanges(src, ranges, SCAN_DRIVER_CAP);
      if (!best || n < best.n) best = { ranges, n };
    }
  }
  const candidates = ids ? listed([...ids].sort()) : best ? driverIds(src, best.ranges) : undefined;
  if (!candidates) {
    for await (const r of src.scanAll(type)) if (allHold(indexed(r), rest)) yield r;
    return;
  }
  for await (const batch of inBatches(candidates, BATCH)) {
    for (const r of await readInOrder(src, type, batch)) if (allHold(indexed(r), rest)) yield r;
  }
}

import type { Collection, Db, Document, Filter, Sort } from 'mongodb';
import { HubError } from '../core/hubError.ts';
import { resourceContentHash } from './contentHash.ts';
import type {
  Criterion, HistoryQuery, ResourceStore, SearchQuery, SearchResult, StoredResource, WriteRequest, WriteResult,
} from './resourceStore.ts';
import { searchIndexFor, type SearchIndex } from './searchIndex.ts';
import { indexFilter, sortKeysFor, sortSpec } from './mongoSearchFilter.ts';
import { PatientPostings } from './patientPostings.ts';
import { searchParamsOf } from './searchParameterTable.ts';

export interface CurrentDoc {
  _id: string;
  resource: StoredResource;
  versionId: number;
  lastUpdated: Date;
  contentHash: string;
  sourceTime?: Date;
  /** search parameter entries computed at write time (searchIndex.ts) */
  search?: SearchIndex;
  /** one scalar per parameter to sort by (the smallest entry) */
  sortKey?: Record<string, string | number>;
  searchVersion?: number;
}

/** Bumped when indexing changes, so `reindex` knows which documents to recompute. */
export const SEARCH_INDEX_VERSION = 1;

interface HistoryDoc {
  _id: string;
  id: string;
  versionId: number;
  lastUpdated: Date;
  resource: StoredResource;
}

const TYPE_NAME = /^[A-Z][A-Za-z]{1,63}$/;
const MAX_WRITE_ATTEMPTS = 8;

function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: number }).code === 11000;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The first version of a resource as its current document, for writers that only ever append
 * (the audit trail) and so skip the compare-and-set of `write`.
 */
export function firstVersionDocument(resource: StoredResource, at: Date): CurrentDoc {
  const stored: StoredResource = { ...resource, meta: { ...resource.meta, versionId: '1', lastUpdated: at.toISOString() } };
  const search = searchIndexFor(stored);
  return {
    _id: resource.id, resource: stored, versionId: 1, lastUpdated: at,
    contentHash: resourceContentHash(resource as unknown as Record<string, unknown>),
    search, sortKey: sortKeysFor(search), searchVersion: SEARCH_INDEX_VERSION,
  };
}

/**
 * Resources in MongoDB, one collection per type plus `<Type>_history`. Writes are optimistic
 * (compare-and-set on the version) rather than transactional, because FerretDB has no
 * transactions: the current document is the truth, and its history copy is written after it
 * idempotently, so a crash between the two loses at most a history entry, never data.
 */
export class MongoResourceStore implements ResourceStore {
  private readonly indexed = new Set<string>();
  private readonly postings: PatientPostings;

  constructor(private readonly db: Db, private readonly now: () => Date = () => new Date()) {
    this.postings = new PatientPostings(db);
  }

  private current(type: string): Collection<CurrentDoc> {
    if (!TYPE_NAME.test(type)) throw new HubError('STORE_TYPE_INVALID', `"${type}" is not a resource type`);
    return this.db.collection<CurrentDoc>(type);
  }

  private historyOf(type: string): Collection<HistoryDoc> {
    if (!TYPE_NAME.test(type)) throw new HubError('STORE_TYPE_INVALID', `"${type}" is not a resource type`);
    return this.db.collection<HistoryDoc>(`${type}_history`);
  }

  /** Indexes that every type's reads and writes need; search indexes are declared by the API. */
  async ensureIndexes(type: string, paths: string[] = []): Promise<void> {
    const key = `${type}:${paths.join(',')}`;
    if (this.indexed.has(key)) return;
    await this.historyOf(type).createIndex({ id: 1, versionId: -1 });
    // type-level history and _since read newest first (FerretDB v1 scans regardless)
    await this.historyOf(type).createIndex({ lastUpdated: -1 });
    for (const p of paths) await this.current(type).createIndex({ [`resource.${p}`]: 1 });
    this.indexed.add(key);
  }

  async write(request: WriteRequest): Promise<WriteResult> {
    const { resource } = request;
    const type = resource.resourceType;
    const coll = this.current(type);
    await this.ensureIndexes(type);
    const hash = resourceContentHash(resource as unknown as Record<string, unknown>);
    const sourceTime = request.sourceTime ? new Date(request.sourceTime) : undefined;

    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt += 1) {
      const existing = await coll.findOne({ _id: resource.id });
      if (existing) {
        const result = { versionId: String(existing.versionId), lastUpdated: existing.lastUpdated.toISOString() };
        if (existing.contentHash === hash) return { outcome: 'unchanged', ...result };
        if (sourceTime && existing.sourceTime && sourceTime < existing.sourceTime) return { outcome: 'stale', ...result };
      }
      const versionId = (existing?.versionId ?? 0) + 1;
      const lastUpdated = this.now();
      const stored: StoredResource = {
        ...resource,
        meta: { ...resource.meta, versionId: String(versionId), lastUpdated: lastUpdated.toISOString() },
      };
      const search = searchIndexFor(stored);
      const doc: CurrentDoc = {
        _id: resource.id, resource: stored, versionId, lastUpdated, contentHash: hash,
        search, sortKey: sortKeysFor(search), searchVersion: SEARCH_INDEX_VERSION,
        ...(sourceTime ?? existing?.sourceTime ? { sourceTime: sourceTime ?? existing!.sourceTime! } : {}),
      };
      try {
        if (!existing) {
          await coll.insertOne(doc);
        } else {
          const r = await coll.replaceOne({ _id: resource.id, versionId: existing.versionId }, doc);
          if (r.matchedCount === 0) continue; // another writer got there first: re-read and decide again
        }
      } catch (err) {
        if (isDuplicateKey(err)) continue;
        // the driver's error stays the cause: storeErrorKind reads it to tell a refusal from an outage
        throw new HubError('STORE_WRITE_FAILED', `cannot write ${type}/${resource.id}: ${(err as Error).message}`, {}, { cause: err });
      }
      await this.historyOf(type).replaceOne(
        { _id: `${resource.id}/${versionId}` },
        { id: resource.id, versionId, lastUpdated, resource: stored },
        { upsert: true },
      );
      await this.postings.update(type, resource.id, existing?.search, search);
      return { outcome: existing ? 'updated' : 'created', versionId: String(versionId), lastUpdated: lastUpdated.toISOString() };
    }
    throw new HubError('STORE_WRITE_CONFLICT', `${type}/${resource.id} kept changing under ${MAX_WRITE_ATTEMPTS} write attempts`);
  }

  async read(type: string, id: string): Promise<StoredResource | undefined> {
    const doc = await this.current(type).findOne({ _id: id });
    return doc?.resource;
  }

  async readVersion(type: string, id: string, versionId: string): Promise<StoredResource | undefined> {
    const doc = await this.historyOf(type).findOne({ _id: `${id}/${versionId}` });
    return doc?.resource;
  }

  async historyPage(type: string, query: HistoryQuery): Promise<SearchResult> {
    const coll = this.historyOf(type);
    const filter: Filter<HistoryDoc> = {
      ...(query.id !== undefined ? { id: query.id } : {}),
      ...(query.since ? { lastUpdated: { $gte: query.since } } : {}),
    };
    // versionId, not `_id`: `_id` (`id/versionId`) is a string, which would put version 9 before 10
    return pageWithTotal(coll, filter, { lastUpdated: -1, id: 1, versionId: -1 }, query.offset, query.count, query.total);
  }

  async search(type: string, query: SearchQuery): Promise<SearchResult> {
    const coll = this.current(type);
    const filter = toFilter(query) as Filter<CurrentDoc>;
    return pageWithTotal(coll, filter, sortOf(query), query.offset ?? 0, query.count, query.total);
  }

  async readMany(type: string, ids: string[]): Promise<StoredResource[]> {
    // one lookup per id: FerretDB v1 serves `_id` equality from its key but scans for `$in`
    const docs = await Promise.all([...new Set(ids)].map((id) => this.current(type).findOne({ _id: id }, { projection: { resource: 1 } })));
    return docs.filter((d): d is NonNullable<typeof d> => d !== null).map((d) => d.resource);
  }

  async entriesOf(type: string, query: SearchQuery, param: string, limit: number): Promise<string[]> {
    const filter = toFilter(query) as Filter<CurrentDoc>;
    const out = new Set<string>();
    const cursor = this.current(type).find(filter, { projection: param === '_id' ? { _id: 1 } : { [`search.${param}`]: 1 } }).batchSize(1000);
    for await (const doc of cursor) {
      const found = param === '_id' ? [doc._id] : doc.search?.[param];
      for (const e of Array.isArray(found) ? found : []) {
        if (typeof e === 'string') out.add(e);
        if (out.size >= limit) { await cursor.close(); return [...out]; }
      }
    }
    return [...out];
  }

  /** Resources of `type` in the compartment of any of the Patients (`Patient/<id>`), read by id. */
  async inPatientCompartment(type: string, patientRefs: string[]): Promise<StoredResource[]> {
    const ids = await this.postings.idsFor(type, patientRefs);
    const docs = await Promise.all(ids.map((id) => this.current(type).findOne({ _id: id }, { projection: { resource: 1 } })));
    return docs.filter((d): d is NonNullable<typeof d> => d !== null).map((d) => d.resource).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async *scan(type: string, query: SearchQuery): AsyncIterable<StoredResource> {
    const cursor = this.current(type).find(toFilter(query) as Filter<CurrentDoc>, { projection: { resource: 1 } }).sort({ _id: 1 }).batchSize(1000);
    for await (const doc of cursor) yield doc.resource;
  }

  /** Indexes for the parameters clients search by most (MongoDB uses them; FerretDB may ignore them). */
  async ensureSearchIndexes(types: string[]): Promise<void> {
    for (const type of types) {
      await this.ensureIndexes(type);
      for (const def of searchParamsOf(type)) {
        if (def.name === '_id') continue;
        const field = def.type === 'date' ? `search.${def.name}.lo` : def.type === 'quantity' ? `search.${def.name}.value` : `search.${def.name}`;
        await this.current(type).createIndex({ [field]: 1 });
      }
    }
  }

  /** Recomputes the search entries of documents written before the current indexing (or before it existed). */
  async reindex(type: string): Promise<number> {
    const coll = this.current(type);
    let n = 0;
    for await (const doc of coll.find({ $or: [{ searchVersion: { $exists: false } }, { searchVersion: { $ne: SEARCH_INDEX_VERSION } }] })) {
      const search = searchIndexFor(doc.resource);
      await coll.updateOne({ _id: doc._id, versionId: doc.versionId }, { $set: { search, sortKey: sortKeysFor(search), searchVersion: SEARCH_INDEX_VERSION } });
      await this.postings.update(type, doc._id, undefined, search);
      n += 1;
    }
    return n;
  }
}

interface PagedDoc {
  resource: StoredResource;
}

/**
 * One page of resources (`count` undefined: all from `offset`; 0: none) and, when asked, how
 * many match. Both are read side by side: where the filter is not served by an index (always on
 * FerretDB v1) each is a scan.
 */
async function pageWithTotal<T extends PagedDoc>(coll: Collection<T>, filter: Filter<T>, sort: Sort, offset: number, count: number | undefined, withTotal?: boolean): Promise<SearchResult> {
  const page = async (): Promise<StoredResource[]> => {
    if (count === 0) return [];
    const cursor = coll.find(filter, { projection: { resource: 1 } }).sort(sort).skip(offset);
    if (count !== undefined) cursor.limit(count);
    return (await cursor.toArray()).map((d) => d.resource);
  };
  const [resources, total] = await Promise.all([page(), withTotal ? coll.countDocuments(filter) : Promise.resolve(undefined)]);
  return { resources, ...(total !== undefined ? { total } : {}) };
}

function sortOf(query: SearchQuery): Sort {
  const sort: Record<string, 1 | -1> = {};
  for (const s of query.sort ?? []) sort[`resource.${s.path}`] = s.descending ? -1 : 1;
  Object.assign(sort, sortSpec(query.sortBy ?? []));
  sort._id = 1; // stable paging
  return sort;
}

function condition(c: Criterion): Filter<Document> {
  const field = `resource.${c.path}`;
  const v = c.value;
  switch (c.op) {
    case 'eq':
      return c.ignoreCase && typeof v === 'string' ? { [field]: { $regex: `^${escapeRegex(v)}$`, $options: 'i' } } : { [field]: v };
    case 'ne': return { [field]: { $ne: v } };
    case 'in': return { [field]: { $in: Array.isArray(v) ? v : [v] } };
    case 'exists': return { [field]: { $exists: v !== false } };
    case 'gt': return { [field]: { $gt: v } };
    case 'ge': return { [field]: { $gte: v } };
    case 'lt': return { [field]: { $lt: v } };
    case 'le': return { [field]: { $lte: v } };
    case 'prefix': return { [field]: { $regex: `^${escapeRegex(String(v))}`, ...(c.ignoreCase ? { $options: 'i' } : {}) } };
    case 'contains': return { [field]: { $regex: escapeRegex(String(v)), ...(c.ignoreCase ? { $options: 'i' } : {}) } };
  }
}

function toFilter(query: SearchQuery): Filter<Document> {
  const and: Filter<Document>[] = query.criteria.map(condition);
  for (const c of query.where ?? []) and.push(indexFilter(c));
  if (query.anyOf?.length) and.push({ $or: query.anyOf.map((group) => ({ $and: group.map(condition) })) });
  return and.length === 0 ? {} : and.length === 1 ? and[0]! : { $and: and };
}

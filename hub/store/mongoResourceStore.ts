import type { Collection, Db, Document, Filter, Sort } from 'mongodb';
import { HubError } from '../core/hubError.ts';
import { resourceContentHash } from './contentHash.ts';
import type {
  Criterion, ResourceStore, SearchQuery, SearchResult, StoredResource, WriteRequest, WriteResult,
} from './resourceStore.ts';

interface CurrentDoc {
  _id: string;
  resource: StoredResource;
  versionId: number;
  lastUpdated: Date;
  contentHash: string;
  sourceTime?: Date;
}

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
 * Resources in MongoDB, one collection per type plus `<Type>_history`. Writes are optimistic
 * (compare-and-set on the version) rather than transactional, because FerretDB has no
 * transactions: the current document is the truth, and its history copy is written after it
 * idempotently, so a crash between the two loses at most a history entry, never data.
 */
export class MongoResourceStore implements ResourceStore {
  private readonly indexed = new Set<string>();

  constructor(private readonly db: Db, private readonly now: () => Date = () => new Date()) {}

  private current(type: string): Collection<CurrentDoc> {
    if (!TYPE_NAME.test(type)) throw new HubError('STORE_TYPE_INVALID', `"${type}" is not a resource type`);
    return this.db.collection<CurrentDoc>(type);
  }

  private historyOf(type: string): Collection<HistoryDoc> {
    return this.db.collection<HistoryDoc>(`${type}_history`);
  }

  /** Indexes that every type's reads and writes need; search indexes are declared by the API. */
  async ensureIndexes(type: string, paths: string[] = []): Promise<void> {
    const key = `${type}:${paths.join(',')}`;
    if (this.indexed.has(key)) return;
    await this.historyOf(type).createIndex({ id: 1, versionId: -1 });
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
      const doc: CurrentDoc = {
        _id: resource.id, resource: stored, versionId, lastUpdated, contentHash: hash,
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
        throw new HubError('STORE_WRITE_FAILED', `cannot write ${type}/${resource.id}: ${(err as Error).message}`);
      }
      await this.historyOf(type).replaceOne(
        { _id: `${resource.id}/${versionId}` },
        { id: resource.id, versionId, lastUpdated, resource: stored },
        { upsert: true },
      );
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

  async history(type: string, id: string): Promise<StoredResource[]> {
    const docs = await this.historyOf(type).find({ id }).sort({ versionId: -1 }).toArray();
    return docs.map((d) => d.resource);
  }

  async search(type: string, query: SearchQuery): Promise<SearchResult> {
    const coll = this.current(type);
    const filter = toFilter(query) as Filter<CurrentDoc>;
    const sort: Sort = {};
    for (const s of query.sort ?? []) (sort as Record<string, 1 | -1>)[`resource.${s.path}`] = s.descending ? -1 : 1;
    (sort as Record<string, 1 | -1>)._id = 1; // stable paging
    const cursor = coll.find(filter).sort(sort).skip(query.offset ?? 0);
    if (query.count !== undefined) cursor.limit(query.count);
    const docs = await cursor.toArray();
    const total = query.total ? await coll.countDocuments(filter) : undefined;
    return { resources: docs.map((d) => d.resource), ...(total !== undefined ? { total } : {}) };
  }
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
  if (query.anyOf?.length) and.push({ $or: query.anyOf.map((group) => ({ $and: group.map(condition) })) });
  return and.length === 0 ? {} : and.length === 1 ? and[0]! : { $and: and };
}

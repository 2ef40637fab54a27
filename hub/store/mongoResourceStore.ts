import type { AnyBulkWriteOperation, Binary, Collection, Db } from 'mongodb';
import { HubError } from '../core/hubError.ts';
import { resourceContentHash } from './contentHash.ts';
import { contentDigestOf, openResourceDoc, postingHasherOf, sealResourceDoc, type FieldProtector } from './fieldProtector.ts';
import { criterionRanges, postingIdsOf, resourceIdOfPosting, type PostingValueHasher } from './postingKeys.ts';
import { postingScan, postingSearch, type PostingSearchSource } from './postingSearch.ts';
import { isDuplicateKeyOnly, MongoPostingStore } from './postingStore.ts';
import type {
  HistoryQuery, ResourceStore, SearchQuery, SearchResult, StoredResource, WriteRequest, WriteResult,
} from './resourceStore.ts';
import { searchIndexFor } from './searchIndex.ts';
import { PATIENT_COMPARTMENT } from './searchParameterTable.ts';

export interface CurrentDoc {
  _id: string;
  resource: StoredResource;
  versionId: number;
  lastUpdated: Date;
  contentHash: string;
  sourceTime?: Date;
  /** who wrote this version (the pipeline: the source message id), so a replay can tell an interrupted write */
  writtenBy?: string;
  /** the posting layout the document's postings were written with (see reindex) */
  searchVersion?: number;
  /** encryption at rest: the resource, sealed, in place of `resource` (fieldProtector.ts) */
  sealed?: Binary;
}

/** Bumped when the postings of a resource change shape, so `reindex` knows which documents to redo. */
export const SEARCH_INDEX_VERSION = 2;

interface HistoryDoc {
  /** `<id>/<versionId>`: one resource's versions are one `_id` range */
  _id: string;
  id: string;
  versionId: number;
  lastUpdated: Date;
  resource: StoredResource;
  writtenBy?: string;
  sealed?: Binary;
}

const TYPE_NAME = /^[A-Z][A-Za-z]{1,63}$/;
const MAX_WRITE_ATTEMPTS = 8;
/** ids per `$in` read */
const READ_CHUNK = 500;
/**
 * Reads ask for their whole answer in the first batch. A cursor left open between batches holds
 * one of FerretDB's connections to SQLite (100 per database) until the next getMore; many
 * concurrent reads could then hold them all while their getMores wait for the driver's
 * connections, which wait for FerretDB's: a deadlock seen under ingest load.
 */
export const ONE_BATCH = 100_000;
/** every string id: a range the `_id` index serves in order (an empty filter would not be, on FerretDB) */
const ALL_IDS = { _id: { $gte: '' } };

export interface MongoResourceStoreOptions {
  now?: () => Date;
  /** resources one search may look at before it is refused (sort, unselective conditions) */
  maxSearchCandidates?: number;
  /** encryption at rest (hub/crypto): its types stored sealed, with hashed postings; undefined = clear */
  protection?: FieldProtector;
}

/** A write decided against what is stored: what the round then puts in the database. */
interface PlannedWrite {
  index: number;
  type: string;
  doc: CurrentDoc;
  /** the version it replaces (compare-and-set), absent for a new resource */
  expectedVersion?: number;
  addPostings: string[];
  removePostings: string[];
}

/**
 * The first version of a resource as its current document and postings, for writers that only
 * ever append (the audit trail) and so skip the compare-and-set of `write`.
 */
export function firstVersionDocument(resource: StoredResource, at: Date, protection?: FieldProtector): { doc: CurrentDoc; postings: string[] } {
  const stored: StoredResource = { ...resource, meta: { ...resource.meta, versionId: '1', lastUpdated: at.toISOString() } };
  return {
    doc: sealResourceDoc({
      _id: resource.id, resource: stored, versionId: 1, lastUpdated: at,
      contentHash: resourceContentHash(resource as unknown as Record<string, unknown>, contentDigestOf(protection, resource.resourceType)), searchVersion: SEARCH_INDEX_VERSION,
    }, protection),
    postings: postingIdsOf(stored, postingHasherOf(protection)),
  };
}

/**
 * Resources in MongoDB: one collection per type (current versions), `<Type>_history` (every
 * version, `_id` `<id>/<version>`), and the search postings (postingStore.ts). Every read on a
 * hot path is an `_id` lookup, list or range. Writes are optimistic (compare-and-set on the
 * version) rather than transactional, because FerretDB has no transactions: the current document
 * is the truth. Postings are added before it and removed after it, history is written after it,
 * so a crash leaves at most extra postings (searches check what they return) or a missing
 * history copy, which `repair` restores when the interrupted message is replayed.
 * Writes come in batches (`writeMany`): one `$in` read per type, then one bulk write per
 * collection, instead of several round trips per resource.
 */
export class MongoResourceStore implements ResourceStore {
  private readonly indexed = new Set<string>();
  readonly postings: MongoPostingStore;
  private readonly now: () => Date;
  readonly maxSearchCandidates: number;
  private readonly searchSource: PostingSearchSource;
  private readonly protection: FieldProtector | undefined;
  private readonly hasher: PostingValueHasher | undefined;

  constructor(private readonly db: Db, options: MongoResourceStoreOptions | (() => Date) = {}) {
    const opts = typeof options === 'function' ? { now: options } : options;
    this.now = opts.now ?? (() => new Date());
    this.maxSearchCandidates = opts.maxSearchCandidates ?? 10_000;
    this.protection = opts.protection;
    this.hasher = postingHasherOf(opts.protection);
    this.postings = new MongoPostingStore(db);
    this.searchSource = {
      postings: this.postings,
      readMany: (type, ids) => this.readMany(type, ids),
      pageAll: async (type, skip, limit) => {
        const cursor = this.current(type).find(ALL_IDS, { projection: { resource: 1, sealed: 1 }, batchSize: limit === undefined ? READ_CHUNK : limit + 1 }).sort({ _id: 1 }).skip(skip);
        if (limit !== undefined) cursor.limit(limit);
        return (await cursor.toArray()).map((d) => this.opened(type, d).resource);
      },
      countAll: (type) => this.countAll(type),
      scanAll: (type) => this.scanAll(type),
      ...(this.hasher ? { hasher: this.hasher } : {}),
    };
  }

  /** A current document as read, its resource opened when sealed. */
  private opened<D extends { _id: string; resource?: StoredResource; sealed?: Binary }>(type: string, doc: D): D & { resource: StoredResource } {
    return openResourceDoc(type, doc._id, doc, this.protection);
  }

  private postingIds(resource: StoredResource): string[] {
    return postingIdsOf(resource, this.hasher);
  }

  private current(type: string): Collection<CurrentDoc> {
    if (!TYPE_NAME.test(type)) throw new HubError('STORE_TYPE_INVALID', `"${type}" is not a resource type`);
    return this.db.collection<CurrentDoc>(type);
  }

  private historyOf(type: string): Collection<HistoryDoc> {
    if (!TYPE_NAME.test(type)) throw new HubError('STORE_TYPE_INVALID', `"${type}" is not a resource type`);
    return this.db.collection<HistoryDoc>(`${type}_history`);
  }

  /** MongoDB reads type-level history newest first from this index; everything else is `_id`. */
  async ensureIndexes(types: string[]): Promise<void> {
    for (const type of types) {
      if (this.indexed.has(type)) continue;
      await this.historyOf(type).createIndex({ lastUpdated: -1 });
      this.indexed.add(type);
    }
  }

  async write(request: WriteRequest): Promise<WriteResult> {
    return (await this.writeMany([request]))[0]!;
  }

  /**
   * Writes a batch. A resource named twice is written in rounds, each seeing the one before, so
   * the batch ends as if its requests had been written one by one, in order.
   */
  async writeMany(requests: readonly WriteRequest[]): Promise<WriteResult[]> {
    const results: WriteResult[] = new Array(requests.length);
    let pending = requests.map((_, i) => i);
    while (pending.length) {
      const seen = new Set<string>();
      const round: number[] = [];
      const later: number[] = [];
      for (const i of pending) {
        const r = requests[i]!.resource;
        const key = `${r.resourceType}/${r.id}`;
        (seen.has(key) ? later : round).push(i);
        seen.add(key);
      }
      await this.writeRound(requests, round, results);
      pending = later;
    }
    return results;
  }

  private async writeRound(requests: readonly WriteRequest[], indices: number[], results: WriteResult[]): Promise<void> {
    let todo = indices;
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS && todo.length; attempt += 1) {
      const existing = await this.currentDocs(todo.map((i) => requests[i]!.resource));
      const planned: PlannedWrite[] = [];
      for (const i of todo) {
        const outcome = this.plan(i, requests[i]!, existing.get(`${requests[i]!.resource.resourceType}/${requests[i]!.resource.id}`));
        if ('outcome' in outcome) results[i] = outcome;
        else planned.push(outcome);
      }
      todo = await this.apply(planned, results);
    }
    if (todo.length) {
      const r = requests[todo[0]!]!.resource;
      throw new HubError('STORE_WRITE_CONFLICT', `${r.resourceType}/${r.id} kept changing under ${MAX_WRITE_ATTEMPTS} write attempts`);
    }
  }

  private async currentDocs(resources: StoredResource[]): Promise<Map<string, CurrentDoc>> {
    const byType = new Map<string, string[]>();
    for (const r of resources) byType.set(r.resourceType, [...(byType.get(r.resourceType) ?? []), r.id]);
    const out = new Map<string, CurrentDoc>();
    await Promise.all([...byType].map(async ([type, ids]) => {
      for (const doc of await this.docsById(this.current(type), ids)) out.set(`${type}/${doc._id}`, this.opened(type, doc));
    }));
    return out;
  }

  private async docsById<T extends { _id: string }>(coll: Collection<T>, ids: string[], projection?: Record<string, 1>): Promise<T[]> {
    const unique = [...new Set(ids)];
    const chunks: string[][] = [];
    for (let i = 0; i < unique.length; i += READ_CHUNK) chunks.push(unique.slice(i, i + READ_CHUNK));
    const found = await Promise.all(chunks.map((chunk) =>
      (chunk.length === 1
        ? coll.find({ _id: chunk[0] } as never, projection ? { projection } : {})
        : coll.find({ _id: { $in: chunk } } as never, { ...(projection ? { projection } : {}), batchSize: READ_CHUNK + 1 })).toArray()));
    return found.flat() as T[];
  }

  private plan(index: number, request: WriteRequest, existing: CurrentDoc | undefined): PlannedWrite | WriteResult {
    const { resource } = request;
    const hash = resourceContentHash(resource as unknown as Record<string, unknown>, contentDigestOf(this.protection, resource.resourceType));
    const sourceTime = request.sourceTime ? new Date(request.sourceTime) : undefined;
    if (existing) {
      const result = { versionId: String(existing.versionId), lastUpdated: existing.lastUpdated.toISOString(), ...(existing.writtenBy ? { writtenBy: existing.writtenBy } : {}) };
      if (existing.contentHash === hash) return { outcome: 'unchanged', ...result };
      if (sourceTime && existing.sourceTime && sourceTime < existing.sourceTime) return { outcome: 'stale', ...result };
    }
    const versionId = (existing?.versionId ?? 0) + 1;
    const lastUpdated = this.now();
    const stored: StoredResource = { ...resource, meta: { ...resource.meta, versionId: String(versionId), lastUpdated: lastUpdated.toISOString() } };
    const keep = sourceTime ?? existing?.sourceTime;
    const doc: CurrentDoc = {
      _id: resource.id, resource: stored, versionId, lastUpdated, contentHash: hash, searchVersion: SEARCH_INDEX_VERSION,
      ...(keep ? { sourceTime: keep } : {}), ...(request.writer ? { writtenBy: request.writer } : {}),
    };
    const now = this.postingIds(stored);
    const before = existing ? this.postingIds(existing.resource) : [];
    const beforeSet = new Set(before);
    const nowSet = new Set(now);
    return {
      index, type: resource.resourceType, doc, ...(existing ? { expectedVersion: existing.versionId } : {}),
      addPostings: now.filter((p) => !beforeSet.has(p)),
      removePostings: before.filter((p) => !nowSet.has(p)),
    };
  }

  /** Puts planned writes in the database; returns the request indices that lost a race (to plan again). */
  private async apply(planned: PlannedWrite[], results: WriteResult[]): Promise<number[]> {
    if (planned.length === 0) return [];
    await this.postings.add(planned.flatMap((p) => p.addPostings));
    const lost = new Set<PlannedWrite>();
    const byType = groupBy(planned, (p) => p.type);
    await Promise.all([...byType].map(async ([type, writes]) => {
      for (const w of await this.putCurrent(type, writes)) lost.add(w);
    }));
    const won = planned.filter((p) => !lost.has(p));
    // a version is written once (compare-and-set above), so its history copy is an insert; one that
    // exists is that same version (a replay), and is left as it is
    await Promise.all([...groupBy(won, (p) => p.type)].map(([type, writes]) => insertIgnoringDuplicates(
      this.historyOf(type), writes.map((w) => sealResourceDoc(historyDocOf(w.doc), this.protection) as HistoryDoc),
    )));
    await this.postings.remove(won.flatMap((p) => p.removePostings));
    for (const w of won) {
      results[w.index] = { outcome: w.expectedVersion === undefined ? 'created' : 'updated', versionId: String(w.doc.versionId), lastUpdated: w.doc.lastUpdated.toISOString() };
    }
    if (lost.size) await this.dropUnusedPostings([...lost]);
    return [...lost].map((w) => w.index);
  }

  /** Inserts new and compare-and-sets changed current documents of one type; returns the writes that lost a race. */
  private async putCurrent(type: string, writes: PlannedWrite[]): Promise<PlannedWrite[]> {
    const ops: AnyBulkWriteOperation<CurrentDoc>[] = writes.map((w) => (w.expectedVersion === undefined
      ? { insertOne: { document: sealResourceDoc(w.doc, this.protection) } }
      : { replaceOne: { filter: { _id: w.doc._id, versionId: w.expectedVersion }, replacement: sealResourceDoc(w.doc, this.protection) } }));
    let matched: number;
    try {
      const r = await this.current(type).bulkWrite(ops, { ordered: false });
      matched = r.insertedCount + r.matchedCount;
    } catch (err) {
      if (!isDuplicateKeyOnly(err)) {
        const first = writes[0]!.doc;
        // the driver's error stays the cause: storeErrorKind reads it to tell a refusal from an outage
        throw new HubError('STORE_WRITE_FAILED', `cannot write ${type}/${first._id}${writes.length > 1 ? ` (and ${writes.length - 1} more)` : ''}: ${(err as Error).message}`, {}, { cause: err });
      }
      matched = -1;
    }
    if (matched === writes.length) return [];
    // some lost a race (another writer's version got there first): the stored version says which
    const stored = new Map((await this.docsById(this.current(type), writes.map((w) => w.doc._id), { _id: 1, versionId: 1, contentHash: 1 })).map((d) => [d._id, d]));
    return writes.filter((w) => {
      const s = stored.get(w.doc._id);
      return !s || s.versionId !== w.doc.versionId || s.contentHash !== w.doc.contentHash;
    });
  }

  /** Postings a lost write added that the version now stored does not have. */
  private async dropUnusedPostings(lost: PlannedWrite[]): Promise<void> {
    const stored = await this.currentDocs(lost.map((w) => w.doc.resource));
    const unused: string[] = [];
    for (const w of lost) {
      const doc = stored.get(`${w.type}/${w.doc._id}`);
      const keep = new Set(doc ? this.postingIds(doc.resource) : []);
      unused.push(...w.addPostings.filter((p) => !keep.has(p)));
    }
    await this.postings.remove(unused);
  }

  /**
   * Makes the stored parts of these resources' current versions complete: the history copy and
   * every posting, and no posting left from the version before. For a replay of a message whose
   * processing was interrupted, where the current documents may already be written ("unchanged").
   */
  async repair(refs: Array<{ type: string; id: string }>): Promise<number> {
    let repaired = 0;
    for (const [type, list] of groupBy(refs, (r) => r.type)) {
      const docs = (await this.docsById(this.current(type), list.map((r) => r.id))).map((d) => this.opened(type, d));
      if (docs.length === 0) continue;
      const history = this.historyOf(type);
      const previous = new Map((await this.docsById(history, docs.filter((d) => d.versionId > 1).map((d) => `${d._id}/${d.versionId - 1}`))).map((h) => [h.id, openResourceDoc(type, h.id, h, this.protection)]));
      const have = new Set((await this.docsById(history, docs.map((d) => `${d._id}/${d.versionId}`), { _id: 1 })).map((h) => h._id));
      const missing = docs.filter((d) => !have.has(`${d._id}/${d.versionId}`));
      if (missing.length) {
        await history.bulkWrite(missing.map((d) => ({ replaceOne: { filter: { _id: `${d._id}/${d.versionId}` }, replacement: sealResourceDoc(historyDocOf(d), this.protection), upsert: true } })), { ordered: false });
      }
      const add: string[] = [];
      const remove: string[] = [];
      for (const d of docs) {
        const now = this.postingIds(d.resource);
        const nowSet = new Set(now);
        add.push(...now);
        const prev = previous.get(d._id);
        if (prev) remove.push(...this.postingIds(prev.resource).filter((p) => !nowSet.has(p)));
      }
      const present = await this.postings.existing(add);
      const absent = add.filter((p) => !present.has(p));
      await this.postings.add(absent);
      await this.postings.remove(remove);
      repaired += missing.length + absent.length;
    }
    return repaired;
  }

  async read(type: string, id: string): Promise<StoredResource | undefined> {
    const doc = await this.current(type).findOne({ _id: id });
    return doc ? this.opened(type, doc).resource : undefined;
  }

  async readVersion(type: string, id: string, versionId: string): Promise<StoredResource | undefined> {
    const doc = await this.historyOf(type).findOne({ _id: `${id}/${versionId}` });
    return doc ? openResourceDoc(type, doc.id, doc, this.protection).resource : undefined;
  }

  async historyPage(type: string, query: HistoryQuery): Promise<SearchResult> {
    const coll = this.historyOf(type);
    if (query.id !== undefined) {
      // one resource's versions are one `_id` range; versions sort as numbers, so in memory
      const docs = await coll.find({ _id: { $gte: `${query.id}/`, $lt: `${query.id}/\u{10FFFF}` } }, { batchSize: ONE_BATCH }).toArray();
      const since = query.since;
      const versions = docs.filter((d) => d.id === query.id && (!since || d.lastUpdated >= since))
        .sort((a, b) => b.lastUpdated.getTime() - a.lastUpdated.getTime() || b.versionId - a.versionId);
      return { resources: versions.slice(query.offset, query.offset + query.count).map((d) => openResourceDoc(type, d.id, d, this.protection).resource), ...(query.total ? { total: versions.length } : {}) };
    }
    // every resource's versions: MongoDB reads its lastUpdated index; FerretDB v1 scans (not a hot path)
    const filter = query.since ? { lastUpdated: { $gte: query.since } } : {};
    const [resources, total] = await Promise.all([
      query.count === 0 ? Promise.resolve([]) : coll.find(filter, { projection: { resource: 1, sealed: 1, id: 1 } }).sort({ lastUpdated: -1, id: 1, versionId: -1 }).skip(query.offset).limit(query.count).batchSize(query.count + 1).toArray().then((d) => d.map((x) => openResourceDoc(type, x.id, x, this.protection).resource)),
      query.total ? coll.countDocuments(filter) : Promise.resolve(undefined),
    ]);
    return { resources, ...(total !== undefined ? { total } : {}) };
  }

  /** Which of these versions were written by whom (provenance: a version's source message). */
  async writersOf(type: string, id: string): Promise<Array<{ versionId: number; writtenBy?: string }>> {
    const docs = await this.historyOf(type).find({ _id: { $gte: `${id}/`, $lt: `${id}/\u{10FFFF}` } }, { projection: { versionId: 1, writtenBy: 1 }, batchSize: ONE_BATCH }).toArray();
    return docs.map((d) => ({ versionId: d.versionId, ...(d.writtenBy ? { writtenBy: d.writtenBy } : {}) })).sort((a, b) => b.versionId - a.versionId);
  }

  search(type: string, query: SearchQuery): Promise<SearchResult> {
    this.current(type);
    return postingSearch(this.searchSource, type, query, this.maxSearchCandidates);
  }

  async readMany(type: string, ids: string[]): Promise<StoredResource[]> {
    return (await this.docsById(this.current(type), ids, { _id: 1, resource: 1, sealed: 1 })).map((d) => this.opened(type, d).resource);
  }

  async entriesOf(type: string, query: SearchQuery, param: string, limit: number): Promise<string[]> {
    const out = new Set<string>();
    for await (const r of this.scan(type, query)) {
      const found = param === '_id' ? [r.id] : searchIndexFor(r)[param];
      for (const e of Array.isArray(found) ? found : []) {
        if (typeof e === 'string') out.add(e);
        if (out.size >= limit) return [...out];
      }
    }
    return [...out];
  }

  /** Resources of `type` in the compartment of any of the Patients (`Patient/<id>`), found by their postings. */
  async inPatientCompartment(type: string, patientRefs: string[]): Promise<StoredResource[]> {
    const param = PATIENT_COMPARTMENT[type]?.[0];
    if (!param || patientRefs.length === 0) return [];
    const ranges = criterionRanges(type, { param, anyOf: patientRefs.map((value) => ({ kind: 'entry', value })) }, this.hasher);
    const ids = new Set<string>();
    for (const range of ranges?.ranges ?? []) for await (const p of this.postings.scan(range)) ids.add(resourceIdOfPosting(p));
    const refs = new Set(patientRefs);
    // a posting left by an interrupted write names a Patient the resource no longer names
    return (await this.readMany(type, [...ids]))
      .filter((r) => (searchIndexFor(r)[param] as string[] | undefined)?.some((e) => refs.has(e)))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  scan(type: string, query: SearchQuery): AsyncIterable<StoredResource> {
    this.current(type);
    return postingScan(this.searchSource, type, query);
  }

  private countAll(type: string): Promise<number> {
    return this.db.command({ count: type, query: ALL_IDS }).then((r) => Number((r as { n?: number }).n ?? 0));
  }

  private async *scanAll(type: string): AsyncIterable<StoredResource> {
    let after: string | undefined;
    for (;;) {
      const docs = await this.current(type).find(after === undefined ? ALL_IDS : { _id: { $gt: after } }, { projection: { resource: 1, sealed: 1 } }).sort({ _id: 1 }).limit(READ_CHUNK).batchSize(READ_CHUNK + 1).toArray();
      for (const d of docs) yield this.opened(type, d).resource;
      if (docs.length < READ_CHUNK) return;
      after = docs[docs.length - 1]!._id;
    }
  }

  /** Writes the postings of documents stored before the current posting layout (or before postings existed). */
  async reindex(type: string): Promise<number> {
    const coll = this.current(type);
    let n = 0;
    for await (const doc of coll.find({ $or: [{ searchVersion: { $exists: false } }, { searchVersion: { $ne: SEARCH_INDEX_VERSION } }] })) {
      await this.postings.add(this.postingIds(this.opened(type, doc).resource));
      await coll.updateOne({ _id: doc._id, versionId: doc.versionId }, { $set: { searchVersion: SEARCH_INDEX_VERSION }, $unset: { search: '', sortKey: '' } });
      n += 1;
    }
    return n;
  }
}

async function insertIgnoringDuplicates<T extends { _id: string }>(coll: Collection<T>, docs: T[]): Promise<void> {
  if (!docs.length) return;
  try {
    await coll.insertMany(docs as never[], { ordered: false });
  } catch (err) {
    if (!isDuplicateKeyOnly(err)) throw new HubError('STORE_WRITE_FAILED', `cannot write to ${coll.collectionName}: ${(err as Error).message}`, {}, { cause: err });
  }
}

function historyDocOf(doc: CurrentDoc): HistoryDoc {
  return {
    _id: `${doc._id}/${doc.versionId}`, id: doc._id, versionId: doc.versionId, lastUpdated: doc.lastUpdated, resource: doc.resource,
    ...(doc.writtenBy ? { writtenBy: doc.writtenBy } : {}),
  };
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

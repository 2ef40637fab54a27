import type { Binary, Collection, Db, Filter } from 'mongodb';
import { openJson, sealJson, type FieldProtector } from '../store/fieldProtector.ts';
import { encodeKeyPart } from '../store/postingKeys.ts';
import { insertOrReplace, isDuplicateKeyOnly } from '../store/postingStore.ts';
import { ONE_BATCH } from '../store/mongoResourceStore.ts';
import { mapBounded } from '../core/boundedParallel.ts';
import { rankCandidates } from './candidateRanking.ts';
import { HubError } from '../core/hubError.ts';
import type { AuditEntry, LinkRecord, MergeSnapshot, NoMatchRecord, ReviewFilter, ReviewItem, SourceEntry } from './mpiRecords.ts';
import type { MpiRepository } from './mpiRepository.ts';

interface BlockDoc { _id: string }
interface PostingDoc { _id: string }

/**
 * A source entry at rest with encryption on: features and blocking keys (names, numbers, phones,
 * addresses, birth dates) sealed together; what the index reads them by stays in clear.
 */
export interface SealedSourceDoc {
  _id: string;
  sealed: Binary;
  sourceSystem: string;
  updatedAt: string;
}

/** A merge at rest with encryption on: the golden Patients as they were, sealed. */
export type StoredMerge = MergeSnapshot & { sealedGoldenBefore?: Binary };

/** Collection names; all owned by the patient index. */
export const MPI_COLLECTIONS = {
  sources: 'mpi_sources', blocks: 'mpi_block_keys', links: 'mpi_links', noMatch: 'mpi_nomatch',
  review: 'mpi_review', merges: 'mpi_merges', audit: 'mpi_audit', leases: 'mpi_leases', postings: 'mpi_postings',
} as const;

function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: number }).code === 11000;
}

export function pairId(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/** Sorts after any character a key part holds (parts are escaped with encodeKeyPart). */
const TOP = '\u{10FFFF}';
const prefixRange = (prefix: string) => ({ $gte: prefix, $lt: prefix + TOP });
const lastPart = (key: string): string => key.slice(key.lastIndexOf('|') + 1);

/** A review's place in its status list: higher scores first (the key grows as the score falls). */
export function reviewScoreKey(score: number): string {
  const clamped = Math.max(-9_999_999, Math.min(9_999_999, Math.round(score * 1000)));
  return String(9_999_999 - clamped).padStart(8, '0');
}

/**
 * Secondary keys of the patient index as posting documents in `mpi_postings` (`_id` only), so
 * that every lookup the matching and merge paths make is an `_id` range: the sources of a
 * golden record, NO_MATCH partners, merges into or from a golden record, reviews by status (in
 * score order), golden or source. A posting is written before the record it points at and
 * removed after it; readers check the record, so a crash in between leaves a posting that
 * leads nowhere, never a record that cannot be found.
 */
const P = {
  member: (golden: string, source: string) => `member|${encodeKeyPart(golden)}|${source}`,
  members: (golden: string) => `member|${encodeKeyPart(golden)}|`,
  noMatch: (a: string, b: string) => `nomatch|${encodeKeyPart(a)}|${b}`,
  noMatches: (a: string) => `nomatch|${encodeKeyPart(a)}|`,
  into: (golden: string, merge: string) => `into|${encodeKeyPart(golden)}|${merge}`,
  intos: (golden: string) => `into|${encodeKeyPart(golden)}|`,
  from: (golden: string, merge: string) => `from|${encodeKeyPart(golden)}|${merge}`,
  froms: (golden: string) => `from|${encodeKeyPart(golden)}|`,
  reviewStatus: (status: string, score: number, id: string) => `review|${status}|${reviewScoreKey(score)}|${id}`,
  reviewsByStatus: (status: string) => `review|${status}|`,
  reviewGolden: (golden: string, id: string) => `review-golden|${encodeKeyPart(golden)}|${id}`,
  reviewsOfGolden: (golden: string) => `review-golden|${encodeKeyPart(golden)}|`,
  reviewSource: (source: string, id: string) => `review-source|${encodeKeyPart(source)}|${id}`,
  reviewsOfSource: (source: string) => `review-source|${encodeKeyPart(source)}|`,
};

/** A block key and a source as one `_id`, so a block is one range: `<key>|<source>`. */
export const blockId = (key: string, source: string) => `${encodeKeyPart(key)}|${source}`;

/** A blocking key as stored: itself, or its keyed hash with encryption on. */
export function storedBlockKey(key: string, protection: FieldProtector | undefined): string {
  return protection ? protection.keyedHash('mpi-block', key) : key;
}

export interface MongoMpiRepositoryOptions {
  /**
   * encryption at rest (hub/crypto): source features and the golden Patients a merge saved are
   * sealed, blocking keys are keyed hashes (a block is still one `_id` range); undefined = clear
   */
  protection?: FieldProtector;
}

/**
 * The MongoDB (and FerretDB v1) implementation: plain documents with unique `_id`s, every hot
 * read an `_id` lookup, list or range (FerretDB serves those from SQLite indexes with the build
 * fixes; see hub/store/README.md). Blocking keys are one document per (key, source).
 */
export class MongoMpiRepository implements MpiRepository {
  private readonly sources: Collection<SourceEntry | SealedSourceDoc>;
  private readonly blocks: Collection<BlockDoc>;
  private readonly links: Collection<LinkRecord>;
  private readonly noMatch: Collection<NoMatchRecord>;
  private readonly review: Collection<ReviewItem>;
  private readonly merges: Collection<StoredMerge>;
  private readonly auditLog: Collection<AuditEntry>;
  private readonly postings: Collection<PostingDoc>;
  private readonly protection: FieldProtector | undefined;

  constructor(private readonly db: Db, options: MongoMpiRepositoryOptions = {}) {
    this.protection = options.protection;
    this.sources = db.collection(MPI_COLLECTIONS.sources);
    this.blocks = db.collection(MPI_COLLECTIONS.blocks);
    this.links = db.collection(MPI_COLLECTIONS.links);
    this.noMatch = db.collection(MPI_COLLECTIONS.noMatch);
    this.review = db.collection(MPI_COLLECTIONS.review);
    this.merges = db.collection(MPI_COLLECTIONS.merges);
    this.auditLog = db.collection(MPI_COLLECTIONS.audit);
    this.postings = db.collection(MPI_COLLECTIONS.postings);
  }

  /** Everything is read by `_id`; the audit trail (an operator's query, not a hot path) has MongoDB indexes. */
  async ensureIndexes(): Promise<void> {
    await this.auditLog.createIndex({ source: 1 });
    await this.auditLog.createIndex({ golden: 1 });
  }

  private async addPostings(ids: string[]): Promise<void> {
    if (!ids.length) return;
    try {
      await this.postings.insertMany(ids.map((_id) => ({ _id })), { ordered: false });
    } catch (err) {
      if (!isDuplicateKeyOnly(err)) throw new HubError('MPI_STORE_FAILED', `cannot write patient index postings: ${(err as Error).message}`, {}, { cause: err });
    }
  }

  private async removePostings(ids: string[]): Promise<void> {
    if (ids.length) await this.postings.deleteMany({ _id: { $in: ids } });
  }

  /** The last parts of the postings under a prefix, in key order. */
  private async postingTails(prefix: string, limit = 0, skip = 0): Promise<string[]> {
    const cursor = this.postings.find({ _id: prefixRange(prefix) }, { projection: { _id: 1 }, batchSize: limit ? limit + 1 : ONE_BATCH }).sort({ _id: 1 });
    if (skip) cursor.skip(skip);
    if (limit) cursor.limit(limit);
    return (await cursor.toArray()).map((d) => lastPart(d._id));
  }

  /** Every block id is built from this, and every source document written through storedSource: with encryption on, neither may hold a key in clear. */
  private blockKey(key: string): string {
    return storedBlockKey(key, this.protection);
  }

  private sourceOf(doc: SourceEntry | SealedSourceDoc): SourceEntry {
    if (!('sealed' in doc)) return doc;
    const { features, keys } = openJson<Pick<SourceEntry, 'features' | 'keys'>>(this.protection, doc.sealed, `mpi_sources/${doc._id}`);
    return { _id: doc._id, features, keys, sourceSystem: doc.sourceSystem, updatedAt: doc.updatedAt };
  }

  private storedSource(entry: SourceEntry): SourceEntry | SealedSourceDoc {
    if (!this.protection) return entry;
    const { _id, features, keys, sourceSystem, updatedAt } = entry;
    return { _id, sealed: sealJson(this.protection, { features, keys }, `mpi_sources/${_id}`), sourceSystem, updatedAt };
  }

  private mergeOf(doc: StoredMerge): MergeSnapshot {
    if (!doc.sealedGoldenBefore) return doc;
    const { sealedGoldenBefore, ...rest } = doc;
    return { ...rest, goldenBefore: openJson<MergeSnapshot['goldenBefore']>(this.protection, sealedGoldenBefore, `mpi_merges/${doc._id}`) };
  }

  async getSource(id: string): Promise<SourceEntry | undefined> {
    const doc = await this.sources.findOne({ _id: id });
    return doc ? this.sourceOf(doc) : undefined;
  }

  async getSources(ids: string[]): Promise<SourceEntry[]> {
    if (!ids.length) return [];
    return (await this.sources.find({ _id: { $in: [...new Set(ids)] } }, { batchSize: ONE_BATCH }).toArray()).map((d) => this.sourceOf(d));
  }

  async putSource(entry: SourceEntry, previousKeys: string[]): Promise<void> {
    await this.putSources([{ entry, previousKeys }]);
  }

  async putSources(list: Array<{ entry: SourceEntry; previousKeys: string[] }>): Promise<void> {
    if (!list.length) return;
    // new keys first: a crash after them leaves a source found under a key it may lose, never one it cannot be found by
    const added = list.flatMap(({ entry, previousKeys }) => entry.keys.filter((k) => !previousKeys.includes(k)).map((k) => blockId(this.blockKey(k), entry._id)));
    if (added.length) {
      try {
        await this.blocks.insertMany(added.map((_id) => ({ _id })), { ordered: false });
      } catch (err) {
        if (!isDuplicateKeyOnly(err)) throw new HubError('MPI_STORE_FAILED', `cannot write blocking keys: ${(err as Error).message}`, {}, { cause: err });
      }
    }
    await insertOrReplace(this.sources, list.map(({ entry }) => this.storedSource(entry) as SourceEntry));
    const gone = list.flatMap(({ entry, previousKeys }) => previousKeys.filter((k) => !entry.keys.includes(k)).map((k) => blockId(this.blockKey(k), entry._id)));
    if (gone.length) await this.blocks.deleteMany({ _id: { $in: gone } });
  }

  async blockMembers(keys: string[], maxBlockSize: number): Promise<Map<string, string[] | 'oversize'>> {
    const unique = [...new Set(keys)];
    const blocks = await mapBounded(unique, 16, (k) =>
      this.blocks.find({ _id: prefixRange(`${encodeKeyPart(this.blockKey(k))}|`) }, { projection: { _id: 1 }, batchSize: maxBlockSize + 2 }).sort({ _id: 1 }).limit(maxBlockSize + 1).toArray());
    return new Map(unique.map((k, i) => [k, blocks[i]!.length > maxBlockSize ? 'oversize' as const : blocks[i]!.map((d) => lastPart(d._id))]));
  }

  async candidateIds(keys: string[], exclude: string, limit: number, maxBlockSize: number): Promise<string[]> {
    if (!keys.length) return [];
    // one bounded range per key: a block larger than maxBlockSize is not selective and is skipped unread
    const blocks = await Promise.all([...new Set(keys)].map((k) =>
      this.blocks.find({ _id: prefixRange(`${encodeKeyPart(this.blockKey(k))}|`) }, { projection: { _id: 1 }, batchSize: maxBlockSize + 2 }).sort({ _id: 1 }).limit(maxBlockSize + 1).toArray()));
    const shared = new Map<string, number>();
    for (const docs of blocks) {
      if (docs.length > maxBlockSize) continue;
      for (const d of docs) {
        const source = lastPart(d._id);
        if (source !== exclude) shared.set(source, (shared.get(source) ?? 0) + 1);
      }
    }
    return [...shared.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, limit).map(([id]) => id);
  }

  async *allSources(): AsyncIterable<SourceEntry> {
    for await (const doc of this.sources.find({}).sort({ _id: 1 }).batchSize(1000)) yield this.sourceOf(doc);
  }

  countSources(): Promise<number> {
    return this.sources.countDocuments({});
  }

  async getLink(source: string): Promise<LinkRecord | undefined> {
    return (await this.links.findOne({ _id: source })) ?? undefined;
  }

  async getLinks(sources: string[]): Promise<LinkRecord[]> {
    if (!sources.length) return [];
    return this.links.find({ _id: { $in: [...new Set(sources)] } }, { batchSize: ONE_BATCH }).toArray();
  }

  async linksOfGolden(golden: string): Promise<LinkRecord[]> {
    const members = await this.postingTails(P.members(golden));
    const links = (await this.getLinks(members)).filter((l) => l.golden === golden);
    const stale = members.filter((m) => !links.some((l) => l._id === m));
    if (stale.length) await this.removePostings(stale.map((m) => P.member(golden, m)));
    return links.sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
  }

  async *allLinks(): AsyncIterable<LinkRecord> {
    yield* this.links.find({}).sort({ _id: 1 }).batchSize(1000);
  }

  async putLink(link: LinkRecord, expectedVersion: number): Promise<boolean> {
    const before = expectedVersion === 0 ? undefined : await this.getLink(link._id);
    await this.addPostings([P.member(link.golden, link._id)]);
    let written: boolean;
    try {
      if (expectedVersion === 0) {
        await this.links.insertOne(link);
        written = true;
      } else {
        written = (await this.links.replaceOne({ _id: link._id, version: expectedVersion }, link)).matchedCount === 1;
      }
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw new HubError('MPI_STORE_FAILED', `cannot write the link of Patient/${link._id}: ${(err as Error).message}`, {}, { cause: err });
    }
    if (written && before && before.golden !== link.golden) await this.removePostings([P.member(before.golden, link._id)]);
    return written;
  }

  async deleteLink(source: string, expectedVersion: number): Promise<boolean> {
    const before = await this.getLink(source);
    const deleted = (await this.links.deleteOne({ _id: source, version: expectedVersion })).deletedCount === 1;
    if (deleted && before) await this.removePostings([P.member(before.golden, source)]);
    return deleted;
  }

  async addNoMatch(record: NoMatchRecord): Promise<void> {
    const { _id, ...rest } = record;
    await this.addPostings([P.noMatch(record.a, record.b), P.noMatch(record.b, record.a)]);
    await this.noMatch.updateOne({ _id: pairId(record.a, record.b) }, { $setOnInsert: rest }, { upsert: true });
  }

  async removeNoMatch(a: string, b: string): Promise<void> {
    await this.noMatch.deleteOne({ _id: pairId(a, b) });
    await this.removePostings([P.noMatch(a, b), P.noMatch(b, a)]);
  }

  async noMatchesOf(source: string): Promise<string[]> {
    const others = await this.postingTails(P.noMatches(source));
    if (!others.length) return [];
    const docs = await this.noMatch.find({ _id: { $in: others.map((o) => pairId(source, o)) } }, { projection: { a: 1, b: 1 }, batchSize: ONE_BATCH }).toArray();
    return docs.map((d) => (d.a === source ? d.b : d.a));
  }

  async *allNoMatches(): AsyncIterable<NoMatchRecord> {
    yield* this.noMatch.find({});
  }

  async getReview(id: string): Promise<ReviewItem | undefined> {
    return (await this.review.findOne({ _id: id })) ?? undefined;
  }

  async upsertOpenReview(item: ReviewItem): Promise<void> {
    const { _id, createdAt, status, ...refresh } = item;
    const before = await this.getReview(_id);
    if (before && before.status !== 'OPEN') return; // a decided item keeps its decision
    await this.addPostings([P.reviewStatus('OPEN', item.score, _id), P.reviewGolden(item.golden, _id), P.reviewSource(item.source, _id)]);
    try {
      await this.review.updateOne({ _id, status: 'OPEN' }, { $set: refresh, $setOnInsert: { createdAt, status } }, { upsert: true });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err; // decided meanwhile
    }
    if (before && reviewScoreKey(before.score) !== reviewScoreKey(item.score)) await this.removePostings([P.reviewStatus('OPEN', before.score, _id)]);
  }

  async decideReview(id: string, status: ReviewItem['status'], who: string, reason: string | undefined, at: string): Promise<boolean> {
    const before = await this.getReview(id);
    if (!before || before.status !== 'OPEN') return false;
    await this.addPostings([P.reviewStatus(status, before.score, id)]);
    const r = await this.review.updateOne({ _id: id, status: 'OPEN' }, { $set: { status, decidedBy: who, updatedAt: at, ...(reason ? { reason } : {}) } });
    if (r.modifiedCount === 1) await this.removePostings([P.reviewStatus('OPEN', before.score, id)]);
    else await this.removePostings([P.reviewStatus(status, before.score, id)]);
    return r.modifiedCount === 1;
  }

  /**
   * By golden or source: their postings, then the items checked against the rest of the filter.
   * By status alone: the status list, already in score order, paged and counted in the index.
   */
  async listReviews(filter: ReviewFilter): Promise<{ items: ReviewItem[]; total: number }> {
    const offset = filter.offset ?? 0;
    const count = filter.count ?? 20;
    const holds = (r: ReviewItem) => (!filter.status || r.status === filter.status) && (!filter.golden || r.golden === filter.golden)
      && (!filter.source || r.source === filter.source) && (filter.minScore === undefined || r.score >= filter.minScore);
    const byScore = (a: ReviewItem, b: ReviewItem) => b.score - a.score || (a._id < b._id ? -1 : a._id > b._id ? 1 : 0);
    if (filter.golden || filter.source) {
      const ids = await this.postingTails(filter.golden ? P.reviewsOfGolden(filter.golden) : P.reviewsOfSource(filter.source!));
      const items = ids.length ? (await this.review.find({ _id: { $in: ids } }, { batchSize: ONE_BATCH }).toArray()).filter(holds).sort(byScore) : [];
      return { items: items.slice(offset, offset + count), total: items.length };
    }
    if (filter.status) {
      const base = P.reviewsByStatus(filter.status);
      const range = { $gte: base, $lt: filter.minScore !== undefined ? `${base}${reviewScoreKey(filter.minScore)}|${TOP}` : base + TOP };
      const [ids, counted] = await Promise.all([
        this.postings.find({ _id: range }, { projection: { _id: 1 }, batchSize: count + 1 }).sort({ _id: 1 }).skip(offset).limit(count).toArray(),
        this.db.command({ count: MPI_COLLECTIONS.postings, query: { _id: range } }),
      ]);
      const byId = new Map((ids.length ? await this.review.find({ _id: { $in: ids.map((d) => lastPart(d._id)) } }, { batchSize: ONE_BATCH }).toArray() : []).map((r) => [r._id, r]));
      // a posting left by an interrupted decision leads to an item in another status: skipped
      const items = ids.map((d) => byId.get(lastPart(d._id))).filter((r): r is ReviewItem => r !== undefined && holds(r));
      return { items, total: Number((counted as { n?: number }).n ?? 0) };
    }
    // every status at once: an operator's listing, read whole
    const items = (await this.review.find({}).toArray()).filter(holds).sort(byScore);
    return { items: items.slice(offset, offset + count), total: items.length };
  }

  async insertMerge(snapshot: MergeSnapshot): Promise<void> {
    await this.addPostings([P.into(snapshot.into, snapshot._id), P.from(snapshot.from, snapshot._id)]);
    await this.merges.insertOne(this.protection
      ? { ...snapshot, goldenBefore: {}, sealedGoldenBefore: sealJson(this.protection, snapshot.goldenBefore, `mpi_merges/${snapshot._id}`) }
      : snapshot);
  }

  async getMerge(id: string): Promise<MergeSnapshot | undefined> {
    const doc = await this.merges.findOne({ _id: id });
    return doc ? this.mergeOf(doc) : undefined;
  }

  async setMergeStatus(id: string, from: MergeSnapshot['status'], to: MergeSnapshot['status'], extra: Partial<MergeSnapshot> = {}): Promise<boolean> {
    const r = await this.merges.updateOne({ _id: id, status: from }, { $set: { ...extra, status: to } });
    return r.modifiedCount === 1;
  }

  async appliedMergesInto(golden: string): Promise<MergeSnapshot[]> {
    const ids = await this.postingTails(P.intos(golden));
    if (!ids.length) return [];
    return (await this.merges.find({ _id: { $in: ids } }, { batchSize: ONE_BATCH }).toArray()).map((m) => this.mergeOf(m)).filter((m) => m.into === golden && m.status === 'applied')
      .sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
  }

  async latestAppliedMergeFrom(golden: string): Promise<MergeSnapshot | undefined> {
    const ids = await this.postingTails(P.froms(golden));
    if (!ids.length) return undefined;
    const applied = (await this.merges.find({ _id: { $in: ids } }, { batchSize: ONE_BATCH }).toArray()).map((m) => this.mergeOf(m)).filter((m) => m.from === golden && m.status === 'applied');
    return applied.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0))[0];
  }

  async audit(entry: AuditEntry): Promise<void> {
    await this.auditLog.insertOne({ ...entry });
  }

  async auditMany(entries: AuditEntry[]): Promise<void> {
    if (entries.length) await this.auditLog.insertMany(entries.map((e) => ({ ...e })), { ordered: false });
  }

  async putNewLinks(links: LinkRecord[]): Promise<Set<string>> {
    if (!links.length) return new Set();
    await this.addPostings(links.map((l) => P.member(l.golden, l._id)));
    try {
      await this.links.insertMany(links, { ordered: false });
      return new Set(links.map((l) => l._id));
    } catch (err) {
      if (!isDuplicateKeyOnly(err)) throw new HubError('MPI_STORE_FAILED', `cannot write links: ${(err as Error).message}`, {}, { cause: err });
      const errors = (err as { writeErrors?: Array<{ index: number }> | { index: number } }).writeErrors;
      const lost = new Set((Array.isArray(errors) ? errors : errors ? [errors] : []).map((e) => links[e.index]!._id));
      return new Set(links.filter((l) => !lost.has(l._id)).map((l) => l._id));
    }
  }

  auditTrail(filter: { source?: string; golden?: string; limit?: number }): Promise<AuditEntry[]> {
    const q: Filter<AuditEntry> = {};
    if (filter.source) q.source = filter.source;
    if (filter.golden) q.golden = filter.golden;
    return this.auditLog.find(q).sort({ at: 1 }).limit(filter.limit ?? 1000).toArray();
  }
}

import type { Collection, Db, Filter } from 'mongodb';
import { HubError } from '../core/hubError.ts';
import type { AuditEntry, LinkRecord, MergeSnapshot, NoMatchRecord, ReviewFilter, ReviewItem, SourceEntry } from './mpiRecords.ts';
import type { MpiRepository } from './mpiRepository.ts';

interface BlockDoc { _id: string; key: string; source: string }

/** Collection names; all owned by the patient index. */
export const MPI_COLLECTIONS = {
  sources: 'mpi_sources', blocks: 'mpi_blocks', links: 'mpi_links', noMatch: 'mpi_nomatch',
  review: 'mpi_review', merges: 'mpi_merges', audit: 'mpi_audit', leases: 'mpi_leases',
} as const;

function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: number }).code === 11000;
}

export function pairId(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/**
 * The MongoDB (and FerretDB v1) implementation: plain documents, unique _ids, single-field
 * indexes. Blocking keys are one document per (key, source) rather than an array field,
 * because FerretDB does not index array elements one by one.
 */
export class MongoMpiRepository implements MpiRepository {
  private readonly sources: Collection<SourceEntry>;
  private readonly blocks: Collection<BlockDoc>;
  private readonly links: Collection<LinkRecord>;
  private readonly noMatch: Collection<NoMatchRecord>;
  private readonly review: Collection<ReviewItem>;
  private readonly merges: Collection<MergeSnapshot>;
  private readonly auditLog: Collection<AuditEntry>;
  private indexed = false;

  constructor(db: Db) {
    this.sources = db.collection(MPI_COLLECTIONS.sources);
    this.blocks = db.collection(MPI_COLLECTIONS.blocks);
    this.links = db.collection(MPI_COLLECTIONS.links);
    this.noMatch = db.collection(MPI_COLLECTIONS.noMatch);
    this.review = db.collection(MPI_COLLECTIONS.review);
    this.merges = db.collection(MPI_COLLECTIONS.merges);
    this.auditLog = db.collection(MPI_COLLECTIONS.audit);
  }

  async ensureIndexes(): Promise<void> {
    if (this.indexed) return;
    await this.blocks.createIndex({ key: 1 });
    await this.blocks.createIndex({ source: 1 });
    await this.links.createIndex({ golden: 1 });
    await this.noMatch.createIndex({ a: 1 });
    await this.noMatch.createIndex({ b: 1 });
    await this.review.createIndex({ status: 1, score: -1 });
    await this.review.createIndex({ golden: 1 });
    await this.merges.createIndex({ into: 1 });
    await this.merges.createIndex({ from: 1 });
    await this.auditLog.createIndex({ source: 1 });
    await this.auditLog.createIndex({ golden: 1 });
    this.indexed = true;
  }

  async getSource(id: string): Promise<SourceEntry | undefined> {
    return (await this.sources.findOne({ _id: id })) ?? undefined;
  }

  async getSources(ids: string[]): Promise<SourceEntry[]> {
    if (!ids.length) return [];
    return this.sources.find({ _id: { $in: ids } }).toArray();
  }

  async putSource(entry: SourceEntry, previousKeys: string[]): Promise<void> {
    await this.sources.replaceOne({ _id: entry._id }, entry, { upsert: true });
    const gone = previousKeys.filter((k) => !entry.keys.includes(k));
    if (gone.length) await this.blocks.deleteMany({ _id: { $in: gone.map((k) => `${k}\u0000${entry._id}`) } });
    const added = entry.keys.filter((k) => !previousKeys.includes(k));
    if (added.length) {
      await this.blocks.bulkWrite(added.map((k) => ({
        replaceOne: { filter: { _id: `${k}\u0000${entry._id}` }, replacement: { key: k, source: entry._id }, upsert: true },
      })), { ordered: false });
    }
  }

  async candidateIds(keys: string[], exclude: string, limit: number, maxBlockSize: number): Promise<string[]> {
    if (!keys.length) return [];
    const docs = await this.blocks.find({ key: { $in: keys } }, { projection: { key: 1, source: 1 } }).limit(keys.length * (maxBlockSize + 1)).toArray();
    const perKey = new Map<string, number>();
    for (const d of docs) perKey.set(d.key, (perKey.get(d.key) ?? 0) + 1);
    const shared = new Map<string, number>();
    for (const d of docs) {
      if (d.source === exclude || (perKey.get(d.key) ?? 0) > maxBlockSize) continue;
      shared.set(d.source, (shared.get(d.source) ?? 0) + 1);
    }
    return [...shared.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, limit).map(([id]) => id);
  }

  async *allSources(): AsyncIterable<SourceEntry> {
    yield* this.sources.find({}).sort({ _id: 1 }).batchSize(1000);
  }

  countSources(): Promise<number> {
    return this.sources.countDocuments({});
  }

  async getLink(source: string): Promise<LinkRecord | undefined> {
    return (await this.links.findOne({ _id: source })) ?? undefined;
  }

  async getLinks(sources: string[]): Promise<LinkRecord[]> {
    if (!sources.length) return [];
    return this.links.find({ _id: { $in: sources } }).toArray();
  }

  linksOfGolden(golden: string): Promise<LinkRecord[]> {
    return this.links.find({ golden }).sort({ _id: 1 }).toArray();
  }

  async *allLinks(): AsyncIterable<LinkRecord> {
    yield* this.links.find({}).sort({ _id: 1 }).batchSize(1000);
  }

  async putLink(link: LinkRecord, expectedVersion: number): Promise<boolean> {
    try {
      if (expectedVersion === 0) {
        await this.links.insertOne(link);
        return true;
      }
      const r = await this.links.replaceOne({ _id: link._id, version: expectedVersion }, link);
      return r.matchedCount === 1;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw new HubError('MPI_STORE_FAILED', `cannot write the link of Patient/${link._id}: ${(err as Error).message}`);
    }
  }

  async deleteLink(source: string, expectedVersion: number): Promise<boolean> {
    return (await this.links.deleteOne({ _id: source, version: expectedVersion })).deletedCount === 1;
  }

  async addNoMatch(record: NoMatchRecord): Promise<void> {
    const { _id, ...rest } = record;
    await this.noMatch.updateOne({ _id: pairId(record.a, record.b) }, { $setOnInsert: rest }, { upsert: true });
  }

  async removeNoMatch(a: string, b: string): Promise<void> {
    await this.noMatch.deleteOne({ _id: pairId(a, b) });
  }

  async noMatchesOf(source: string): Promise<string[]> {
    const docs = await this.noMatch.find({ $or: [{ a: source }, { b: source }] }).toArray();
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
    try {
      // only an OPEN (or new) item is refreshed; a decided one keeps its decision
      await this.review.updateOne({ _id, status: 'OPEN' }, { $set: refresh, $setOnInsert: { createdAt, status } }, { upsert: true });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err; // the item exists and is decided
    }
  }

  async decideReview(id: string, status: ReviewItem['status'], who: string, reason: string | undefined, at: string): Promise<boolean> {
    const r = await this.review.updateOne({ _id: id, status: 'OPEN' }, { $set: { status, decidedBy: who, updatedAt: at, ...(reason ? { reason } : {}) } });
    return r.modifiedCount === 1;
  }

  async listReviews(filter: ReviewFilter): Promise<{ items: ReviewItem[]; total: number }> {
    const q: Filter<ReviewItem> = {};
    if (filter.status) q.status = filter.status;
    if (filter.golden) q.golden = filter.golden;
    if (filter.source) q.source = filter.source;
    if (filter.minScore !== undefined) q.score = { $gte: filter.minScore };
    const items = await this.review.find(q).sort({ score: -1, _id: 1 }).skip(filter.offset ?? 0).limit(filter.count ?? 20).toArray();
    return { items, total: await this.review.countDocuments(q) };
  }

  async insertMerge(snapshot: MergeSnapshot): Promise<void> {
    await this.merges.insertOne(snapshot);
  }

  async getMerge(id: string): Promise<MergeSnapshot | undefined> {
    return (await this.merges.findOne({ _id: id })) ?? undefined;
  }

  async setMergeStatus(id: string, from: MergeSnapshot['status'], to: MergeSnapshot['status'], extra: Partial<MergeSnapshot> = {}): Promise<boolean> {
    const r = await this.merges.updateOne({ _id: id, status: from }, { $set: { ...extra, status: to } });
    return r.modifiedCount === 1;
  }

  appliedMergesInto(golden: string): Promise<MergeSnapshot[]> {
    return this.merges.find({ into: golden, status: 'applied' }).sort({ _id: 1 }).toArray();
  }

  async latestAppliedMergeFrom(golden: string): Promise<MergeSnapshot | undefined> {
    const docs = await this.merges.find({ from: golden, status: 'applied' }).sort({ at: -1 }).limit(1).toArray();
    return docs[0];
  }

  async audit(entry: AuditEntry): Promise<void> {
    await this.auditLog.insertOne({ ...entry });
  }

  auditTrail(filter: { source?: string; golden?: string; limit?: number }): Promise<AuditEntry[]> {
    const q: Filter<AuditEntry> = {};
    if (filter.source) q.source = filter.source;
    if (filter.golden) q.golden = filter.golden;
    return this.auditLog.find(q).sort({ at: 1 }).limit(filter.limit ?? 1000).toArray();
  }
}

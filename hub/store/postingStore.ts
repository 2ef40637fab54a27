import type { Collection, Db } from 'mongodb';
import { HubError } from '../core/hubError.ts';
import type { KeyRange } from './postingKeys.ts';

/**
 * The posting documents of the search index (`search_postings`, `{_id}` only; see
 * postingKeys.ts). Every read is an `_id` range with sort, skip, limit or count on the index.
 * Writes are idempotent: adding a posting that exists and removing one that does not are
 * no-ops, so a replay can always write them again.
 */
export const POSTINGS_COLLECTION = 'search_postings';

interface PostingDoc {
  _id: string;
}

/** How many ids go into one `$in` or one insertMany (FerretDB's SQLite binds at most 32766 values). */
const CHUNK = 1000;

export function isDuplicateKeyOnly(err: unknown): boolean {
  const e = err as { code?: number; writeErrors?: Array<{ code?: number }> | { code?: number }; result?: unknown };
  if (e?.code === 11000 && !e.writeErrors) return true;
  const list = Array.isArray(e?.writeErrors) ? e.writeErrors : e?.writeErrors ? [e.writeErrors] : [];
  return list.length > 0 && list.every((w) => w.code === 11000);
}

/** The indices of documents an unordered insertMany refused as duplicates (rethrows anything else). */
export function duplicateIndices(err: unknown): number[] {
  if (!isDuplicateKeyOnly(err)) throw err;
  const errors = (err as { writeErrors?: Array<{ index: number }> | { index: number } }).writeErrors;
  return (Array.isArray(errors) ? errors : errors ? [errors] : []).map((e) => e.index);
}

/**
 * Inserts documents and replaces the ones that exist: one insert command for the usual case of
 * new documents, instead of an upsert per document (on FerretDB each is a query and a write).
 */
export async function insertOrReplace<T extends { _id: string }>(coll: Collection<T>, docs: T[]): Promise<void> {
  if (!docs.length) return;
  let existing: number[] = [];
  try {
    await coll.insertMany(docs as never[], { ordered: false });
  } catch (err) {
    existing = duplicateIndices(err);
  }
  if (!existing.length) return;
  await coll.bulkWrite(existing.map((i) => {
    const { _id, ...replacement } = docs[i]!;
    return { replaceOne: { filter: { _id } as never, replacement: replacement as never, upsert: true } };
  }), { ordered: false });
}

export class MongoPostingStore {
  private readonly coll: Collection<PostingDoc>;

  constructor(private readonly db: Db, readonly collectionName = POSTINGS_COLLECTION) {
    this.coll = db.collection<PostingDoc>(collectionName);
  }

  async add(ids: readonly string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += CHUNK) {
      const docs = ids.slice(i, i + CHUNK).map((_id) => ({ _id }));
      try {
        await this.coll.insertMany(docs, { ordered: false });
      } catch (err) {
        if (!isDuplicateKeyOnly(err)) throw new HubError('STORE_WRITE_FAILED', `cannot write search postings: ${(err as Error).message}`, { cause: err });
      }
    }
  }

  async remove(ids: readonly string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += CHUNK) {
      await this.coll.deleteMany({ _id: { $in: ids.slice(i, i + CHUNK) } });
    }
  }

  /** Which of these postings exist. */
  async existing(ids: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < ids.length; i += CHUNK) {
      for (const d of await this.coll.find({ _id: { $in: ids.slice(i, i + CHUNK) } }, { projection: { _id: 1 }, batchSize: CHUNK + 1 }).toArray()) out.add(d._id);
    }
    return out;
  }

  /**
   * Postings in a range, counted in the index (the `count` command: FerretDB and MongoDB both
   * answer it from the index), up to `limit` when given: counting walks the index, so a caller
   * that only needs to know whether a range is large stops early.
   */
  async count(range: KeyRange, limit?: number): Promise<number> {
    const reply = await this.db.command({ count: this.collectionName, query: { _id: { $gte: range.gte, $lt: range.lt } }, ...(limit ? { limit } : {}) });
    return Number((reply as { n?: number }).n ?? 0);
  }

  /** Posting ids of a range in key order, from `after` (exclusive) when given. */
  async page(range: KeyRange, limit: number, options: { skip?: number; after?: string } = {}): Promise<string[]> {
    const gt = options.after !== undefined;
    const filter = { _id: { ...(gt ? { $gt: options.after! } : { $gte: range.gte }), $lt: range.lt } };
    // the whole page in the first batch: an open cursor holds a FerretDB connection (see ONE_BATCH)
    const cursor = this.coll.find(filter, { projection: { _id: 1 }, batchSize: limit + 1 }).sort({ _id: 1 });
    if (options.skip) cursor.skip(options.skip);
    const docs = await cursor.limit(limit).toArray();
    return docs.map((d) => d._id);
  }

  /** Every posting id of a range, in key order, read in pages. */
  async *scan(range: KeyRange, pageSize = CHUNK): AsyncIterable<string> {
    let after: string | undefined;
    for (;;) {
      const ids = await this.page(range, pageSize, after !== undefined ? { after } : {});
      yield* ids;
      if (ids.length < pageSize) return;
      after = ids[ids.length - 1];
    }
  }
}

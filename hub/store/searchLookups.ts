import type { AnyBulkWriteOperation, Collection, Db, Filter } from 'mongodb';

/**
 * Lookup documents for selective search parameters: `_id` `<Type>|<param>|<value>` lists the ids
 * of the resources having that value (keys: searchLookupKeys.ts). FerretDB v1 answers an `_id`
 * lookup without scanning, so a name or identifier search reads a few of these and then its
 * candidates by id. A value shared by more than `maxIds` resources is marked too common: its list
 * is dropped and searches on it take the query path. Written after the resource, like the
 * patient postings (a crash in between leaves a list stale until `reindex`); a type's lists are
 * trusted only once it is marked complete (its first write found the collection empty, or
 * `reindex` built them).
 */
interface LookupDoc {
  _id: string;
  ids?: string[];
  n?: number;
  tooCommon?: boolean;
}

export const DEFAULT_MAX_LOOKUP_IDS = 5000;
const COLLECTION = 'search_lookups';
const completeKey = (type: string): string => `${type}|#complete`;

function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: number }).code === 11000;
}

function hasOnlyDuplicateKeys(err: unknown): boolean {
  const errors = (err as { writeErrors?: unknown }).writeErrors;
  const list = Array.isArray(errors) ? errors : errors ? [errors] : [];
  return list.length > 0 && list.every((e) => (e as { code?: number }).code === 11000);
}

export class SearchLookups {
  /** too common is final, so it is remembered instead of being asked again */
  private readonly tooCommon = new Set<string>();
  private readonly complete = new Set<string>();

  constructor(private readonly db: Db, private readonly maxIds = DEFAULT_MAX_LOOKUP_IDS) {}

  private get coll(): Collection<LookupDoc> {
    return this.db.collection<LookupDoc>(COLLECTION);
  }

  /** Adds only where the id is missing and the list is neither too common nor full; otherwise the upsert collides on `_id`. */
  private addFilter(key: string, id: string): Filter<LookupDoc> {
    return { _id: key, ids: { $ne: id }, tooCommon: { $ne: true }, n: { $lt: this.maxIds } };
  }

  private addOp(key: string, id: string): AnyBulkWriteOperation<LookupDoc> {
    return { updateOne: { filter: this.addFilter(key, id), update: { $push: { ids: id }, $inc: { n: 1 } }, upsert: true } };
  }

  /** Moves `id` from the lists it was on to those it is on now. */
  async update(id: string, before: string[], after: string[]): Promise<void> {
    const old = new Set(before);
    const now = new Set(after);
    const added = [...now].filter((k) => !old.has(k) && !this.tooCommon.has(k));
    const removed = [...old].filter((k) => !now.has(k) && !this.tooCommon.has(k));
    const ops: AnyBulkWriteOperation<LookupDoc>[] = [
      ...added.map((k) => this.addOp(k, id)),
      ...removed.map((k): AnyBulkWriteOperation<LookupDoc> => ({ updateOne: { filter: { _id: k, ids: id }, update: { $pull: { ids: id }, $inc: { n: -1 } } } })),
    ];
    if (ops.length === 0) return;
    try {
      await this.coll.bulkWrite(ops, { ordered: false });
    } catch (err) {
      if (!isDuplicateKey(err) && !hasOnlyDuplicateKeys(err)) throw err;
      // an upsert's conditions failed on an existing list (already listed, too common or full);
      // FerretDB stops at the first failed operation even when unordered, so every one is redone
      for (const k of added) await this.settle(k, id);
      for (const k of removed) await this.coll.updateOne({ _id: k, ids: id }, { $pull: { ids: id }, $inc: { n: -1 } });
    }
  }

  /** After a refused add: the id is already listed, the list is too common, or it just became full. */
  private async settle(key: string, id: string): Promise<void> {
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const doc = await this.coll.findOne({ _id: key });
      if (doc?.tooCommon) { this.tooCommon.add(key); return; }
      if (doc?.ids?.includes(id)) return;
      if (doc && (doc.n ?? 0) >= this.maxIds) {
        await this.coll.updateOne({ _id: key }, { $set: { tooCommon: true, ids: [] } });
        this.tooCommon.add(key);
        return;
      }
      try {
        await this.coll.updateOne(this.addFilter(key, id), { $push: { ids: id }, $inc: { n: 1 } }, { upsert: true });
        return;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
    }
  }

  /**
   * The ids listed under any of the keys, or undefined when one of them is too common (the
   * caller then runs its query instead).
   */
  async idsFor(keys: string[]): Promise<string[] | undefined> {
    if (keys.some((k) => this.tooCommon.has(k))) return undefined;
    const docs = await Promise.all(keys.map((k) => this.coll.findOne({ _id: k })));
    const ids = new Set<string>();
    for (const [i, d] of docs.entries()) {
      if (d?.tooCommon) { this.tooCommon.add(keys[i]!); return undefined; }
      for (const id of d?.ids ?? []) ids.add(id);
    }
    return [...ids];
  }

  /** Whether every resource of `type` is on its lists (see the class comment). */
  async isComplete(type: string): Promise<boolean> {
    if (this.complete.has(type)) return true;
    if (!(await this.coll.findOne({ _id: completeKey(type) }))) return false;
    this.complete.add(type);
    return true;
  }

  async markComplete(type: string): Promise<void> {
    await this.coll.updateOne({ _id: completeKey(type) }, { $set: { tooCommon: false } }, { upsert: true });
    this.complete.add(type);
  }
}

/** Lookup documents as `insertMany` wants them, for loaders that write resources in bulk (benchmarks). */
export function lookupDocuments(entries: Map<string, string[]>, maxIds = DEFAULT_MAX_LOOKUP_IDS): LookupDoc[] {
  return [...entries].map(([key, ids]) => (ids.length > maxIds ? { _id: key, ids: [], n: ids.length, tooCommon: true } : { _id: key, ids, n: ids.length }));
}

export function completeMarker(type: string): LookupDoc {
  return { _id: completeKey(type), tooCommon: false };
}

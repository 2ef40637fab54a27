import { Binary, type Collection, type Db } from 'mongodb';
import { resourceContentHash } from './contentHash.ts';
import { contentDigestOf, openJson, postingHasherOf, sealBytes, sealJson, type FieldProtector } from './fieldProtector.ts';
import { postingIdsOf } from './postingKeys.ts';
import { MongoPostingStore } from './postingStore.ts';
import type { StoredResource } from './resourceStore.ts';

/**
 * Brings what is stored under the keyring now in force (`hub keys rotate`): values sealed with a
 * key other than the active one are sealed again with it, so the old key can be retired; and
 * resources of sealed types still in clear (written before encryption was turned on) are
 * sealed, their content hash keyed and their postings hashed. Every write is a compare-and-set
 * on the value it read, so a running hub (which writes with the active key already) can go on:
 * a document it changed meanwhile is left to it and counted as skipped.
 */
export interface Resealer {
  protector: FieldProtector;
  /** whether a sealed value is under the active key already */
  isCurrent(sealed: Buffer): boolean;
  /** count only */
  dryRun?: boolean;
}

export interface ResealCount {
  collection: string;
  /** sealed with an older key, sealed again */
  resealed: number;
  /** were in clear, now sealed */
  sealed: number;
  /** changed by someone else meanwhile */
  skipped: number;
}

interface ResourceDoc {
  _id: string;
  id?: string;
  versionId: number;
  resource?: StoredResource;
  sealed?: Binary;
  contentHash?: string;
}

const PAGE = 500;
const RESOURCE_COLLECTION = /^([A-Z][A-Za-z]{1,63})(_history)?$/;

async function* pages<T extends { _id: string }>(coll: Collection<T>): AsyncIterable<T[]> {
  let after: string | undefined;
  for (;;) {
    const filter = (after === undefined ? { _id: { $gte: '' } } : { _id: { $gt: after } }) as never;
    const docs = (await coll.find(filter).sort({ _id: 1 }).limit(PAGE).toArray()) as T[];
    if (docs.length) yield docs;
    if (docs.length < PAGE) return;
    after = docs[docs.length - 1]!._id;
  }
}

const bytes = (b: Binary) => Buffer.from(b.buffer);

/** Every resource collection (current and history) in the database. */
export async function resourceCollections(db: Db): Promise<string[]> {
  return (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).filter((n) => RESOURCE_COLLECTION.test(n)).sort();
}

/** One resource collection, current (`Patient`) or history (`Patient_history`). */
export async function resealResources(db: Db, collection: string, r: Resealer): Promise<ResealCount> {
  const [, type = '', history] = RESOURCE_COLLECTION.exec(collection) ?? [];
  const count: ResealCount = { collection, resealed: 0, sealed: 0, skipped: 0 };
  const coll = db.collection<ResourceDoc>(collection);
  const postings = new MongoPostingStore(db);
  const hasher = postingHasherOf(r.protector);
  for await (const docs of pages(coll)) {
    for (const doc of docs) {
      const id = history ? doc.id ?? doc._id.slice(0, doc._id.lastIndexOf('/')) : doc._id;
      const context = `${type}/${id}`;
      if (doc.sealed) {
        if (r.isCurrent(bytes(doc.sealed))) continue;
        if (r.dryRun) { count.resealed += 1; continue; }
        const again = sealBytes(r.protector, r.protector.open(bytes(doc.sealed), context), context);
        const done = await coll.updateOne({ _id: doc._id, sealed: doc.sealed }, { $set: { sealed: again } });
        if (done.matchedCount) count.resealed += 1;
        else count.skipped += 1;
        continue;
      }
      if (!doc.resource || !r.protector.sealsType(type)) continue;
      if (r.dryRun) { count.sealed += 1; continue; }
      const sealed = sealJson(r.protector, doc.resource, context);
      if (history) {
        const done = await coll.updateOne({ _id: doc._id, sealed: { $exists: false } }, { $set: { sealed }, $unset: { resource: '' } });
        if (done.matchedCount) count.sealed += 1;
        else count.skipped += 1;
        continue;
      }
      // hashed postings before the document, clear ones removed after it (as the store writes)
      const clear = postingIdsOf(doc.resource);
      const hashed = postingIdsOf(doc.resource, hasher);
      const hashedSet = new Set(hashed);
      const clearSet = new Set(clear);
      const added = hashed.filter((p) => !clearSet.has(p));
      await postings.add(added);
      const contentHash = resourceContentHash(doc.resource as unknown as Record<string, unknown>, contentDigestOf(r.protector, type));
      const done = await coll.updateOne({ _id: doc._id, versionId: doc.versionId, sealed: { $exists: false } }, { $set: { sealed, contentHash }, $unset: { resource: '' } });
      if (done.matchedCount) {
        await postings.remove(clear.filter((p) => !hashedSet.has(p)));
        count.sealed += 1;
        continue;
      }
      // the hub wrote a new version meanwhile (sealed, with its own postings): drop what we added that it does not have
      const now = await coll.findOne({ _id: doc._id });
      const keep = new Set(now?.sealed ? postingIdsOf(openJson<StoredResource>(r.protector, now.sealed, context), hasher) : []);
      await postings.remove(added.filter((p) => !keep.has(p)));
      count.skipped += 1;
    }
  }
  return count;
}

interface SourceMessageDoc {
  _id: string;
  raw: Binary;
  rawSealed?: true;
  sealedNotes?: Binary;
  error?: unknown;
  warnings?: unknown;
}

/** `source_messages`: the raw message and its notes (mongoSourceMessageLog.ts). */
export async function resealSourceMessages(db: Db, r: Resealer): Promise<ResealCount> {
  const count: ResealCount = { collection: 'source_messages', resealed: 0, sealed: 0, skipped: 0 };
  const coll = db.collection<SourceMessageDoc>('source_messages');
  for await (const docs of pages(coll)) {
    for (const doc of docs) {
      const rawContext = `source_messages/${doc._id}`;
      const notesContext = `source_messages/${doc._id}/notes`;
      if (doc.rawSealed) {
        if (r.isCurrent(bytes(doc.raw)) && (!doc.sealedNotes || r.isCurrent(bytes(doc.sealedNotes)))) continue;
        if (r.dryRun) { count.resealed += 1; continue; }
        const set: Partial<SourceMessageDoc> = { raw: sealBytes(r.protector, r.protector.open(bytes(doc.raw), rawContext), rawContext) };
        if (doc.sealedNotes) set.sealedNotes = sealBytes(r.protector, r.protector.open(bytes(doc.sealedNotes), notesContext), notesContext);
        const done = await coll.updateOne({ _id: doc._id, raw: doc.raw }, { $set: set });
        if (done.matchedCount) count.resealed += 1;
        else count.skipped += 1;
        continue;
      }
      if (r.dryRun) { count.sealed += 1; continue; }
      const notes = { ...(doc.error ? { error: doc.error } : {}), ...(doc.warnings ? { warnings: doc.warnings } : {}) };
      const set: Partial<SourceMessageDoc> = { raw: sealBytes(r.protector, bytes(doc.raw), rawContext), rawSealed: true };
      if (doc.error || doc.warnings) set.sealedNotes = sealJson(r.protector, notes, notesContext);
      const done = await coll.updateOne({ _id: doc._id, raw: doc.raw, rawSealed: { $exists: false } }, { $set: set, $unset: { error: '', warnings: '' } });
      if (done.matchedCount) count.sealed += 1;
      else count.skipped += 1;
    }
  }
  return count;
}

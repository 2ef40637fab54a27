import { Binary, type Collection, type Db } from 'mongodb';
import { openBytes, openJson, sealBytes, sealJson, type FieldProtector } from './fieldProtector.ts';
import { ONE_BATCH } from './mongoResourceStore.ts';
import { insertOrReplace } from './postingStore.ts';
import type { SourceMessageLog, SourceMessageRecord } from './sourceMessageLog.ts';

type Doc = Omit<SourceMessageRecord, 'id' | 'raw' | 'receivedAt' | 'processedAt'> & {
  _id: string;
  raw: Binary;
  receivedAt: Date;
  processedAt: Date;
  /** encryption at rest: `raw` is sealed, and the error and warnings (which may quote values) are in `sealedNotes` */
  rawSealed?: true;
  sealedNotes?: Binary;
};

type Notes = Pick<SourceMessageRecord, 'error' | 'warnings'>;

export class MongoSourceMessageLog implements SourceMessageLog {
  private readonly coll: Collection<Doc>;

  /**
   * `writers`: who wrote each version of a resource (the resource store), for forResource.
   * `protection`: encryption at rest (hub/crypto); the raw message is then stored sealed.
   */
  constructor(db: Db, private readonly writers?: { writersOf(type: string, id: string): Promise<Array<{ versionId: number; writtenBy?: string }>> }, private readonly protection?: FieldProtector) {
    this.coll = db.collection<Doc>('source_messages');
  }

  private docOf(entry: SourceMessageRecord): Doc {
    const { id, raw, receivedAt, processedAt, ...rest } = entry;
    if (this.protection) {
      const { error, warnings, ...kept } = rest;
      const notes: Notes = { ...(error ? { error } : {}), ...(warnings ? { warnings } : {}) };
      return {
        ...kept, _id: id, raw: sealBytes(this.protection, raw, `source_messages/${id}`), rawSealed: true,
        ...(error || warnings ? { sealedNotes: sealJson(this.protection, notes, `source_messages/${id}/notes`) } : {}),
        receivedAt: new Date(receivedAt), processedAt: new Date(processedAt),
      };
    }
    return { ...rest, _id: id, raw: new Binary(raw), receivedAt: new Date(receivedAt), processedAt: new Date(processedAt) };
  }

  async record(entry: SourceMessageRecord): Promise<void> {
    await this.recordMany([entry]);
  }

  /**
   * One bulk write for a batch of messages. The pipeline writes these last, so a message's entry
   * says its processing completed (processedIds).
   */
  async recordMany(entries: SourceMessageRecord[]): Promise<void> {
    await insertOrReplace(this.coll, entries.map((e) => this.docOf(e)));
  }

  async processedIds(ids: string[]): Promise<Set<string>> {
    if (!ids.length) return new Set();
    const docs = await this.coll.find({ _id: { $in: [...new Set(ids)] } }, { projection: { _id: 1, status: 1 }, batchSize: ONE_BATCH }).toArray();
    return new Set(docs.filter((d) => d.status === 'processed').map((d) => d._id));
  }

  private toRecord(doc: Doc): SourceMessageRecord {
    const { _id, raw, receivedAt, processedAt, rawSealed, sealedNotes, ...rest } = doc;
    const notes = sealedNotes ? openJson<Notes>(this.protection, sealedNotes, `source_messages/${_id}/notes`) : {};
    return {
      ...rest, ...notes, id: _id, raw: rawSealed ? openBytes(this.protection, raw, `source_messages/${_id}`) : Buffer.from(raw.buffer),
      receivedAt: receivedAt.toISOString(), processedAt: processedAt.toISOString(),
    };
  }

  async get(id: string): Promise<SourceMessageRecord | undefined> {
    const doc = await this.coll.findOne({ _id: id });
    return doc ? this.toRecord(doc) : undefined;
  }

  /** The messages that wrote versions of a resource (each version names its writer), newest first. */
  async forResource(reference: string, limit = 50): Promise<SourceMessageRecord[]> {
    const [type = '', id = ''] = reference.split('/');
    if (!this.writers) return [];
    const writers = (await this.writers.writersOf(type, id)).flatMap((v) => (v.writtenBy ? [v.writtenBy] : []));
    const ids = [...new Set(writers)].slice(0, limit);
    if (!ids.length) return [];
    const byId = new Map((await this.coll.find({ _id: { $in: ids } }, { batchSize: ONE_BATCH }).toArray()).map((d) => [d._id, d]));
    return ids.map((i) => byId.get(i)).filter((d): d is Doc => d !== undefined).map((d) => this.toRecord(d));
  }
}

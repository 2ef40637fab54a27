import { Binary, type Collection, type Db } from 'mongodb';
import type { SourceMessageLog, SourceMessageRecord } from './sourceMessageLog.ts';

type Doc = Omit<SourceMessageRecord, 'id' | 'raw' | 'receivedAt' | 'processedAt'> & {
  _id: string;
  raw: Binary;
  receivedAt: Date;
  processedAt: Date;
  resourceRefs: string[];
};

export class MongoSourceMessageLog implements SourceMessageLog {
  private readonly coll: Collection<Doc>;
  private indexed = false;

  constructor(db: Db) {
    this.coll = db.collection<Doc>('source_messages');
  }

  private async ensureIndexes(): Promise<void> {
    if (this.indexed) return;
    await this.coll.createIndex({ resourceRefs: 1, processedAt: -1 });
    await this.coll.createIndex({ sourceSystem: 1, controlId: 1 });
    this.indexed = true;
  }

  async record(entry: SourceMessageRecord): Promise<void> {
    await this.ensureIndexes();
    const { id, raw, receivedAt, processedAt, ...rest } = entry;
    await this.coll.replaceOne(
      { _id: id },
      { ...rest, raw: new Binary(raw), receivedAt: new Date(receivedAt), processedAt: new Date(processedAt), resourceRefs: entry.resources.map((r) => r.reference) },
      { upsert: true },
    );
  }

  private toRecord(doc: Doc): SourceMessageRecord {
    const { _id, raw, receivedAt, processedAt, resourceRefs: _refs, ...rest } = doc;
    return { ...rest, id: _id, raw: Buffer.from(raw.buffer), receivedAt: receivedAt.toISOString(), processedAt: processedAt.toISOString() };
  }

  async get(id: string): Promise<SourceMessageRecord | undefined> {
    const doc = await this.coll.findOne({ _id: id });
    return doc ? this.toRecord(doc) : undefined;
  }

  async forResource(reference: string, limit = 50): Promise<SourceMessageRecord[]> {
    const docs = await this.coll.find({ resourceRefs: reference }).sort({ processedAt: -1 }).limit(limit).toArray();
    return docs.map((d) => this.toRecord(d));
  }
}

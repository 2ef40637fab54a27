/**
 * Every source message the hub processed, kept as received with what became of it: the raw
 * bytes, where it came from, the mapping (and version) applied and the resources it wrote.
 * This is the provenance a mapping fix is replayed and diffed against.
 */
export interface SourceMessageRecord {
  id: string;
  sourceSystem: string;
  connectorId: string;
  contentType: string;
  messageType?: string;
  controlId?: string;
  receivedAt: string;
  processedAt: string;
  charset?: string;
  raw: Buffer;
  /** Kafka position the message was read from */
  position?: { topic: string; partition: number; offset: number };
  status: 'processed' | 'dead-lettered';
  mappingId?: string;
  mappingVersion?: string;
  /** "Type/id" → write outcome */
  resources: Array<{ reference: string; outcome: string; versionId?: string }>;
  error?: { code: string; message: string };
  warnings?: string[];
}

export interface SourceMessageLog {
  record(entry: SourceMessageRecord): Promise<void>;
  /** a batch in one write */
  recordMany(entries: SourceMessageRecord[]): Promise<void>;
  /** which of these messages were processed to the end (their entry is written last) */
  processedIds(ids: string[]): Promise<Set<string>>;
  get(id: string): Promise<SourceMessageRecord | undefined>;
  /** messages that wrote versions of a given resource, newest first */
  forResource(reference: string, limit?: number): Promise<SourceMessageRecord[]>;
}

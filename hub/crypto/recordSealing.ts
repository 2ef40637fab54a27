import type { BusProducer, ConsumedRecord, OutgoingRecord, RecordPosition, TopicReader, TopicReadOptions } from '../bus/messageBus.ts';
import { HubError, isHubError } from '../core/hubError.ts';
import type { FieldCipher } from './fieldCipher.ts';
import type { KeyedHash } from './keyedHash.ts';

/**
 * Kafka records at rest. The broker's log files hold whatever the hub publishes, so with
 * encryption on the original message bytes are sealed before they leave the process, the
 * partition key (a patient identifier) becomes its keyed hash, which keeps one patient's records
 * on one partition in order, and headers that may quote patient data are sealed one by one.
 * Readers (the pipeline, `hub deadletter`) open records before anything looks at them.
 *
 * Marks: `hub-encryption: v1:<key id>` on a sealed value, `hub-key: hmac-sha256:<hash key id>`
 * on a hashed key, `enc:<base64>` as a sealed header's value. A record already marked is passed
 * through untouched, so a record dead-lettered or replayed is never sealed or hashed twice.
 */
export const ENCRYPTION_HEADERS = {
  value: 'hub-encryption',
  key: 'hub-key',
} as const;

/** Headers whose text can carry patient data: a dropped file's name, an error quoting a value. */
export const SEALED_HEADERS = ['hub-file-name', 'hub-dlq-reason', 'hub-dlq-outcome', 'hub-dlq-last-error'] as const;

const VALUE_MARK = 'v1:';
const HEADER_MARK = 'enc:';
const VALUE_CONTEXT = 'kafka-record';
const headerContext = (name: string) => `kafka-header|${name}`;

export function isSealedRecord(headers: Record<string, string>): boolean {
  return headers[ENCRYPTION_HEADERS.value] !== undefined || SEALED_HEADERS.some((h) => headers[h]?.startsWith(HEADER_MARK));
}

/** Seals outgoing records and opens consumed ones with one keyring. */
export class RecordSealer {
  constructor(private readonly cipher: FieldCipher, private readonly hash: KeyedHash) {}

  seal(record: OutgoingRecord): OutgoingRecord {
    const headers = { ...record.headers };
    let { value, key } = record;
    if (headers[ENCRYPTION_HEADERS.value] === undefined) {
      value = this.cipher.seal(value, VALUE_CONTEXT);
      headers[ENCRYPTION_HEADERS.value] = `${VALUE_MARK}${this.cipher.activeKeyId}`;
    }
    if (key !== undefined && headers[ENCRYPTION_HEADERS.key] === undefined) {
      key = this.hash.digest('kafka-key', key);
      headers[ENCRYPTION_HEADERS.key] = `hmac-sha256:${this.hash.keyId}`;
    }
    for (const name of SEALED_HEADERS) {
      const text = headers[name];
      if (text !== undefined && !text.startsWith(HEADER_MARK)) {
        headers[name] = `${HEADER_MARK}${this.cipher.seal(Buffer.from(text, 'utf8'), headerContext(name)).toString('base64')}`;
      }
    }
    return { ...record, value, headers, ...(key !== undefined ? { key } : {}) };
  }

  /** The record with its value and sealed headers opened; the key stays hashed (and marked). */
  open<R extends Pick<ConsumedRecord, 'value' | 'headers'>>(record: R): R {
    if (!isSealedRecord(record.headers)) return record;
    const headers = { ...record.headers };
    const mark = headers[ENCRYPTION_HEADERS.value];
    let { value } = record;
    if (mark !== undefined) {
      if (!mark.startsWith(VALUE_MARK)) {
        throw new HubError('ENCRYPTION_FORMAT_INVALID', `record is marked ${ENCRYPTION_HEADERS.value}: ${mark}; this hub reads ${VALUE_MARK}<key id>`);
      }
      value = this.cipher.open(value, VALUE_CONTEXT);
      delete headers[ENCRYPTION_HEADERS.value];
    }
    for (const name of SEALED_HEADERS) {
      const text = headers[name];
      if (text?.startsWith(HEADER_MARK)) headers[name] = this.cipher.open(Buffer.from(text.slice(HEADER_MARK.length), 'base64'), headerContext(name)).toString('utf8');
    }
    return { ...record, value, headers };
  }
}

/**
 * What a consumer does with a record before handling it: opened with the keyring, or, without
 * encryption configured, refused when it is sealed (ciphertext is no HL7 message to parse).
 */
export type RecordOpener = <R extends Pick<ConsumedRecord, 'value' | 'headers'>>(record: R) => R;

export function recordOpener(sealer: RecordSealer | undefined): RecordOpener {
  if (sealer) return (record) => sealer.open(record);
  return (record) => {
    if (isSealedRecord(record.headers)) {
      throw new HubError('ENCRYPTION_NOT_CONFIGURED', `record is encrypted (${ENCRYPTION_HEADERS.value}: ${record.headers[ENCRYPTION_HEADERS.value] ?? 'sealed headers'}); start with encryption.enabled and the key file that sealed it, then replay it from the dead-letter topic`);
    }
    return record;
  };
}

/** A producer that seals what it publishes. */
export class SealingProducer implements BusProducer {
  constructor(private readonly inner: BusProducer, private readonly sealer: RecordSealer) {}

  publish(record: OutgoingRecord): Promise<RecordPosition> {
    return this.inner.publish(this.sealer.seal(record));
  }

  get inFlight(): number {
    return this.inner.inFlight;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * A record handler that opens each record first. A record that cannot be opened (a key the
 * keyring lacks, altered bytes, encryption not configured) goes to `unreadable` as it is, still
 * sealed, to be dead-lettered and replayed once the key is back; trying it again cannot help.
 */
export function openingHandler<A extends unknown[]>(
  handler: (record: ConsumedRecord, ...rest: A) => Promise<void>,
  open: RecordOpener,
  unreadable: (record: ConsumedRecord, error: HubError) => Promise<void>,
): (record: ConsumedRecord, ...rest: A) => Promise<void> {
  return async (record, ...rest) => {
    let opened: ConsumedRecord;
    try {
      opened = open(record);
    } catch (err) {
      if (!isHubError(err) || !err.code.startsWith('ENCRYPTION_')) throw err;
      await unreadable(record, err);
      return;
    }
    await handler(opened, ...rest);
  };
}

/**
 * A batch handler that opens every record first. One unreadable record fails the batch, and the
 * consumer then hands each record to the (opening) record handler, which dead-letters that one.
 */
export function openingBatchHandler(batch: (records: ConsumedRecord[]) => Promise<void>, open: RecordOpener): (records: ConsumedRecord[]) => Promise<void> {
  return (records) => batch(records.map((r) => open(r)));
}

/**
 * A topic reader that opens what it reads (`hub deadletter list/replay`). A record it cannot
 * open is still listed, sealed, with the reason in place of its dead-letter reason; a replay
 * republishes it as it is.
 */
export class OpeningTopicReader implements TopicReader {
  constructor(private readonly inner: TopicReader, private readonly open: RecordOpener) {}

  async *read(topic: string, options?: TopicReadOptions): AsyncIterable<ConsumedRecord> {
    for await (const record of this.inner.read(topic, options)) {
      try {
        yield this.open(record);
      } catch (err) {
        if (!isHubError(err) || !err.code.startsWith('ENCRYPTION_')) throw err;
        const headers: Record<string, string> = { ...record.headers, 'hub-dlq-reason': `[cannot decrypt: ${err.message}]` };
        delete headers['hub-dlq-outcome'];
        delete headers['hub-dlq-last-error'];
        yield { ...record, headers };
      }
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { BusProducer, ConsumedRecord, OutgoingRecord, RecordPosition } from '../../../hub/bus/messageBus.ts';
import { DataProtection } from '../../../hub/crypto/dataProtection.ts';
import { buildKeyring } from '../../../hub/crypto/keyring.ts';
import { ENCRYPTION_HEADERS, openingHandler, recordOpener, SealingProducer } from '../../../hub/crypto/recordSealing.ts';
import { HubError } from '../../../hub/core/hubError.ts';
import { DeadLetterPublisher, DLQ_HEADERS } from '../../../hub/pipeline/deadLetter.ts';

const hashKey = { id: 'h1', key: randomBytes(32) };
const protection = (active = 'k1', keys = [{ id: 'k1', key: randomBytes(32) }]) => new DataProtection(buildKeyring({ activeKey: active, keys, hashKey }, 'test'));

class CapturingProducer implements BusProducer {
  readonly sent: OutgoingRecord[] = [];
  inFlight = 0;
  async publish(record: OutgoingRecord): Promise<RecordPosition> {
    this.sent.push(record);
    return { topic: record.topic, partition: 0, offset: this.sent.length - 1 };
  }
  async close(): Promise<void> {}
}

const consumed = (r: OutgoingRecord, offset = 0): ConsumedRecord => ({ ...r, partition: 0, offset });
const RAW = Buffer.from('MSH|^~\\&|HIS|H|HUB|H|20261123083000||ADT^A01|C1|P|2.5\rPID|1||MRN7^^^H^MR~110101199003070011^^^CHN^NI||QUIXBORNE^ZELDAVINE', 'utf8');
const flat = (r: OutgoingRecord) => Buffer.concat([r.value, Buffer.from(`${r.key ?? ''}${JSON.stringify(r.headers)}`)]);

describe('Kafka records sealed at rest', () => {
  const p = protection();
  const sealer = p.recordSealer();

  it('seals the value and sensitive headers, hashes the patient key the same way every time, and opens back', async () => {
    const inner = new CapturingProducer();
    const producer = new SealingProducer(inner, sealer);
    const record = { topic: 't', key: 'H|MRN7', value: RAW, headers: { 'hub-control-id': 'C1', 'hub-file-name': 'QUIXBORNE-adt.hl7' } };
    await producer.publish(record);
    await producer.publish(record);
    const [a, b] = inner.sent as [OutgoingRecord, OutgoingRecord];
    for (const needle of ['QUIXBORNE', '110101199003070011', 'MRN7']) expect(flat(a).includes(Buffer.from(needle))).to.equal(false, needle);
    expect(a.headers[ENCRYPTION_HEADERS.value]).to.equal('v1:k1');
    expect(a.headers[ENCRYPTION_HEADERS.key]).to.equal('hmac-sha256:h1');
    expect(a.headers['hub-control-id']).to.equal('C1');
    // same patient, same partition key: ordering per patient survives
    expect(a.key).to.equal(b.key).and.not.equal('H|MRN7');
    const opened = recordOpener(sealer)(consumed(a));
    expect(opened.value.equals(RAW)).to.equal(true);
    expect(opened.headers['hub-file-name']).to.equal('QUIXBORNE-adt.hl7');
    expect(opened.headers[ENCRYPTION_HEADERS.value]).to.equal(undefined);
    expect(opened.key).to.equal(a.key);
  });

  it('dead-letters an opened record sealed again, without hashing its key twice, and the reason sealed too', async () => {
    const inner = new CapturingProducer();
    const producer = new SealingProducer(inner, sealer);
    await producer.publish({ topic: 'in', key: 'H|MRN7', value: RAW, headers: {} });
    const opened = recordOpener(sealer)(consumed(inner.sent[0]!));
    await new DeadLetterPublisher(producer, 'dlq').send(opened, new HubError('HL7_DATE_INVALID', 'PID-7 "QUIXBORNE" is not a date'), 'map');
    const dead = inner.sent[1]!;
    expect(dead.key).to.equal(inner.sent[0]!.key);
    expect(flat(dead).includes(Buffer.from('QUIXBORNE'))).to.equal(false);
    const back = recordOpener(sealer)(consumed(dead));
    expect(back.headers[DLQ_HEADERS.reason]).to.contain('QUIXBORNE');
    expect(back.value.equals(RAW)).to.equal(true);
  });

  it('hands a record it cannot open to the dead-letter path, still sealed, instead of retrying it', async () => {
    const inner = new CapturingProducer();
    await new SealingProducer(inner, protection('k7', [{ id: 'k7', key: randomBytes(32) }]).recordSealer()).publish({ topic: 'in', value: RAW, headers: {} });
    const handled: ConsumedRecord[] = [];
    const unreadable: Array<{ record: ConsumedRecord; code: string }> = [];
    const handler = openingHandler(async (r: ConsumedRecord) => { handled.push(r); }, recordOpener(sealer), async (record, error) => { unreadable.push({ record, code: error.code }); });
    await handler(consumed(inner.sent[0]!));
    expect(handled).to.have.length(0);
    expect(unreadable.map((u) => u.code)).to.deep.equal(['ENCRYPTION_KEY_UNKNOWN']);
    expect(unreadable[0]!.record.headers[ENCRYPTION_HEADERS.value]).to.equal('v1:k7');

    // without encryption configured a sealed record is refused the same way, clear ones pass
    const clear = openingHandler(async (r: ConsumedRecord) => { handled.push(r); }, recordOpener(undefined), async (record, error) => { unreadable.push({ record, code: error.code }); });
    await clear(consumed(inner.sent[0]!));
    await clear(consumed({ topic: 'in', value: RAW, headers: {} }));
    expect(unreadable.map((u) => u.code)).to.deep.equal(['ENCRYPTION_KEY_UNKNOWN', 'ENCRYPTION_NOT_CONFIGURED']);
    expect(handled.map((r) => r.value.equals(RAW))).to.deep.equal([true]);
  });
});

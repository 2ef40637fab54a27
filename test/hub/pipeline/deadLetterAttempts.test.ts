import { expect } from 'chai';
import type { BusProducer, ConsumedRecord, OutgoingRecord } from '../../../hub/bus/messageBus.ts';
import { HubError } from '../../../hub/core/hubError.ts';
import { DeadLetterPublisher, deadLetterEntryOf, DLQ_HEADERS, REPLAY_HEADERS, replayRecordOf } from '../../../hub/pipeline/deadLetter.ts';

describe('dead letters of records whose attempts ran out', () => {
  async function deadLetter(): Promise<ConsumedRecord> {
    const sent: OutgoingRecord[] = [];
    const producer: BusProducer = { inFlight: 0, close: async () => undefined, publish: async (r) => { sent.push(r); return { topic: r.topic, partition: 0, offset: 9 }; } };
    await new DeadLetterPublisher(producer, 'dlq').send(
      { topic: 'hub.fhir.inbound', partition: 1, offset: 41, key: 'urn:mrn|M1', value: Buffer.from('{"resourceType":"Patient"}'), headers: { 'hub-control-id': 'c-1' } },
      new HubError('PIPELINE_ATTEMPTS_EXHAUSTED', 'gave up after 10 attempts; the last failed with STORE_WRITE_FAILED: connection closed'),
      'store',
      { [DLQ_HEADERS.attempts]: '10', [DLQ_HEADERS.lastError]: 'STORE_WRITE_FAILED: connection closed' },
    );
    const [out] = sent;
    return { topic: out!.topic, partition: 0, offset: 9, value: out!.value, headers: out!.headers, ...(out!.key ? { key: out!.key } : {}) };
  }

  it('carries the attempt count and the last error, which the operator sees in the entry', async () => {
    const entry = deadLetterEntryOf(await deadLetter());
    expect(entry).to.deep.include({ code: 'PIPELINE_ATTEMPTS_EXHAUSTED', stage: 'store', attempts: 10, lastError: 'STORE_WRITE_FAILED: connection closed', originalPartition: 1, originalOffset: 41 });
  });

  it('replays to its original topic and key without the dead-letter headers, so the pipeline starts its attempts afresh', async () => {
    const replay = replayRecordOf(deadLetterEntryOf(await deadLetter()), new Date('2026-12-01T00:00:00Z'));
    expect(replay.topic).to.equal('hub.fhir.inbound');
    expect(replay.key).to.equal('urn:mrn|M1');
    expect(replay.headers).to.deep.equal({ 'hub-control-id': 'c-1', [REPLAY_HEADERS.replayOf]: 'dlq/0/9', [REPLAY_HEADERS.replayedAt]: '2026-12-01T00:00:00.000Z' });
  });
});

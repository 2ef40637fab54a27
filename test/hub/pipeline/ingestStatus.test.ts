import { expect } from 'chai';
import type { CommittedOffset, ConsumedRecord, GroupOffsetReader, PartitionWatermarks, TopicReader, TopicReadOptions } from '../../../hub/bus/messageBus.ts';
import { DLQ_HEADERS } from '../../../hub/pipeline/deadLetter.ts';
import { deadLetterStatus, ingestRate, sampleIngest } from '../../../hub/pipeline/ingestStatus.ts';

/** Offsets as the test sets them; only `group` has commits. */
function fakeOffsets(ends: Record<string, Array<[low: number, high: number]>>, commits: Record<string, number>, group = 'g'): GroupOffsetReader {
  return {
    watermarks: async (topic) => (ends[topic] ?? []).map(([low, high], partition): PartitionWatermarks => ({ topic, partition, low, high })),
    committedOffsets: async (g, topics) => topics.flatMap((topic) => (ends[topic] ?? []).map((_, partition): CommittedOffset => ({
      topic, partition, offset: g === group ? commits[`${topic}/${partition}`] ?? null : null,
    }))),
    close: async () => undefined,
  };
}

describe('ingest status from committed offsets and partition ends', () => {
  it('gives each partition its lag: end minus commit, or minus the oldest kept record where the group never committed or retention passed its commit', async () => {
    const offsets = fakeOffsets({ in: [[0, 100], [0, 40], [50, 90]], fhir: [[0, 0]] }, { 'in/0': 70, 'in/1': 40, 'in/2': 10 });
    const sample = await sampleIngest(offsets, 'g', ['in', 'fhir', 'absent'], () => 5000);
    expect(sample.partitions.map((p) => [`${p.topic}/${p.partition}`, p.committed, p.lag])).to.deep.equal([
      ['in/0', 70, 30], ['in/1', 40, 0], ['in/2', 10, 40], ['fhir/0', null, 0],
    ]);
    expect(sample.totalLag).to.equal(70);
    expect(sample.missingTopics).to.deep.equal(['absent']);
    expect(sample.at).to.equal(5000);
  });

  it('computes the rate from how far the commits moved between two samples, and the time to work off the lag', async () => {
    const commits: Record<string, number> = { 'in/0': 100 };
    const ends = { in: [[0, 1000], [0, 300]] as Array<[number, number]> };
    const before = await sampleIngest(fakeOffsets(ends, commits), 'g', ['in'], () => 10_000);
    commits['in/0'] = 300; // 200 handled
    commits['in/1'] = 50; // never committed before: counted from the oldest record
    const after = await sampleIngest(fakeOffsets(ends, commits), 'g', ['in'], () => 15_000);
    const rate = ingestRate(before, after);
    expect(rate).to.deep.equal({ intervalMs: 5000, handled: 250, perSecond: 50, etaSeconds: (700 + 250) / 50 });
  });

  it('says nothing moved (no ETA) when records wait and no commit advanced, and 0 s when there is no lag', async () => {
    const waiting = fakeOffsets({ in: [[0, 10]] }, { 'in/0': 5 });
    expect(ingestRate(await sampleIngest(waiting, 'g', ['in'], () => 0), await sampleIngest(waiting, 'g', ['in'], () => 1000)))
      .to.include({ handled: 0, perSecond: 0, etaSeconds: null });
    const idle = fakeOffsets({ in: [[0, 10]] }, { 'in/0': 10 });
    expect(ingestRate(await sampleIngest(idle, 'g', ['in'], () => 0), await sampleIngest(idle, 'g', ['in'], () => 1000)).etaSeconds).to.equal(0);
  });

  it('counts dead letters from the watermarks and reads only the newest few of each partition, newest first', async () => {
    const reads: Array<TopicReadOptions | undefined> = [];
    const dead = (partition: number, offset: number, code: string, failedAt: string): ConsumedRecord => ({
      topic: 'dlq', partition, offset, value: Buffer.from('x'),
      headers: { [DLQ_HEADERS.code]: code, [DLQ_HEADERS.stage]: 'map', [DLQ_HEADERS.failedAt]: failedAt },
    });
    const reader: TopicReader = {
      async *read(_topic, options) {
        reads.push(options);
        yield dead(0, 8, 'A', '2026-01-01T10:00:00.000Z');
        yield dead(0, 9, 'B', '2026-01-01T10:05:00.000Z');
        yield dead(1, 2, 'C', '2026-01-01T10:03:00.000Z');
        yield dead(1, 3, 'D', '2026-01-01T10:04:00.000Z');
      },
      close: async () => undefined,
    };
    const status = await deadLetterStatus(fakeOffsets({ dlq: [[3, 10], [0, 4]] }, {}), reader, 'dlq', 2);
    expect(status.records).to.equal(11);
    expect(status.partitions).to.deep.equal([{ partition: 0, records: 7 }, { partition: 1, records: 4 }]);
    expect(reads).to.deep.equal([{ last: 2 }]);
    expect(status.recent.map((e) => [e.position, e.code])).to.deep.equal([['0:9', 'B'], ['1:3', 'D']]);
  });

  it('does not read the dead-letter topic when it is empty', async () => {
    const reader: TopicReader = { read: () => { throw new Error('must not read'); }, close: async () => undefined };
    const status = await deadLetterStatus(fakeOffsets({ dlq: [[5, 5]] }, {}), reader, 'dlq', 5);
    expect(status).to.deep.equal({ topic: 'dlq', records: 0, partitions: [{ partition: 0, records: 0 }], recent: [] });
  });
});

import { expect } from 'chai';
import type { ConsumedRecord, DeliveryAttempt } from '../../../hub/bus/messageBus.ts';
import { backoffDelay, PartitionLane, type LaneHooks, type RetryPolicy } from '../../../hub/bus/partitionLane.ts';

const record = (offset: number, value = `r${offset}`): ConsumedRecord => ({ topic: 't', partition: 0, offset, value: Buffer.from(value), headers: {} });
const POLICY: RetryPolicy = { maxAttempts: 4, initialDelayMs: 10, maxDelayMs: 40 };

/** Hooks that remember what the lane reported. */
function recordingHooks(): LaneHooks & { done_: Array<{ offset: number; backlog: number }>; failures: Array<{ offset: number; attempt: number; retryInMs: number }> } {
  const done_: Array<{ offset: number; backlog: number }> = [];
  const failures: Array<{ offset: number; attempt: number; retryInMs: number }> = [];
  return {
    done_, failures,
    done: (r, backlog) => done_.push({ offset: r.offset, backlog }),
    failed: (r, attempt, _err, retryInMs) => failures.push({ offset: r.offset, attempt, retryInMs }),
  };
}

const until = async (probe: () => boolean, ms = 2000) => {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('a partition lane', () => {
  it('handles its records one at a time in offset order and reports each done with what is still waiting', async () => {
    const hooks = recordingHooks();
    let running = 0;
    let overlapped = false;
    const lane = new PartitionLane(async () => {
      running += 1;
      overlapped ||= running > 1;
      await new Promise((r) => setTimeout(r, 2));
      running -= 1;
    }, POLICY, hooks);
    for (let i = 0; i < 5; i += 1) lane.push(record(i));
    expect(lane.backlog).to.equal(5);
    await until(() => hooks.done_.length === 5);
    expect(hooks.done_).to.deep.equal([0, 1, 2, 3, 4].map((offset) => ({ offset, backlog: 4 - offset })));
    expect(overlapped).to.equal(false);
    expect(lane.backlog).to.equal(0);
  });

  it('retries a failing record with doubling delays up to the cap and says which attempt is the last', async () => {
    const hooks = recordingHooks();
    const seen: DeliveryAttempt[] = [];
    const lane = new PartitionLane(async (_r, delivery) => {
      seen.push(delivery);
      if (!delivery.final) throw new Error('store unreachable');
    }, POLICY, hooks);
    lane.push(record(7));
    await until(() => hooks.done_.length === 1);
    expect(seen).to.deep.equal([{ attempt: 1, final: false }, { attempt: 2, final: false }, { attempt: 3, final: false }, { attempt: 4, final: true }]);
    expect(hooks.failures.map((f) => f.retryInMs)).to.deep.equal([10, 20, 40]);
  });

  it('keeps retrying past the last attempt when the handler still cannot settle the record', async () => {
    const hooks = recordingHooks();
    let calls = 0;
    const lane = new PartitionLane(async () => {
      calls += 1;
      if (calls < 6) throw new Error('dead-letter topic down too');
    }, { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 2 }, hooks);
    lane.push(record(1));
    await until(() => hooks.done_.length === 1);
    expect(calls).to.equal(6);
  });

  it('stops at once during a back-off, dropping what waits and reporting nothing done', async () => {
    const hooks = recordingHooks();
    const lane = new PartitionLane(async () => { throw new Error('down'); }, { maxAttempts: 10, initialDelayMs: 60_000, maxDelayMs: 60_000 }, hooks);
    lane.push(record(1));
    lane.push(record(2));
    await until(() => hooks.failures.length === 1);
    const started = Date.now();
    await lane.stop();
    expect(Date.now() - started).to.be.below(500);
    expect(hooks.done_).to.deep.equal([]);
    expect(lane.backlog).to.equal(0);
    lane.push(record(3));
    expect(lane.backlog, 'a stopped lane takes nothing more').to.equal(0);
  });

  it('lets a record in hand finish on stop and reports it done, so a shutdown commits it', async () => {
    const hooks = recordingHooks();
    let release!: () => void;
    const lane = new PartitionLane(() => new Promise<void>((r) => { release = r; }), POLICY, hooks);
    lane.push(record(1));
    lane.push(record(2));
    await until(() => release !== undefined);
    const stopping = lane.stop();
    release();
    await stopping;
    expect(hooks.done_.map((d) => d.offset)).to.deep.equal([1]);
  });

  it('replacing a stopped lane still finishing a record, starts only after it, so one partition is never handled side by side', async () => {
    const order: string[] = [];
    let release!: () => void;
    const old = new PartitionLane(async () => {
      order.push('old start');
      await new Promise<void>((r) => { release = r; });
      order.push('old end');
    }, POLICY, recordingHooks());
    old.push(record(1));
    await until(() => release !== undefined);
    const hooks = recordingHooks();
    const successor = new PartitionLane(async () => { order.push('new'); }, POLICY, hooks, old.stop());
    successor.push(record(1));
    await new Promise((r) => setTimeout(r, 20));
    expect(order).to.deep.equal(['old start']);
    release();
    await until(() => hooks.done_.length === 1);
    expect(order).to.deep.equal(['old start', 'old end', 'new']);
  });

  it('starts again when records arrive after it went idle', async () => {
    const hooks = recordingHooks();
    const lane = new PartitionLane(async () => undefined, POLICY, hooks);
    lane.push(record(1));
    await until(() => hooks.done_.length === 1);
    await new Promise((r) => setTimeout(r, 5));
    lane.push(record(2));
    await until(() => hooks.done_.length === 2);
    expect(hooks.done_.map((d) => d.offset)).to.deep.equal([1, 2]);
  });

  it('reports records settled as one batch once, at its last record, with how many it settled', async () => {
    const settled: Array<{ offset: number; backlog: number; count: number }> = [];
    let release!: () => void;
    const first = new Promise<void>((r) => { release = r; });
    // the first record is held alone, so the four pushed meanwhile wait and go as one batch
    const lane = new PartitionLane(async (r) => { if (r.offset === 0) await first; }, POLICY, {
      done: (r, backlog, count) => settled.push({ offset: r.offset, backlog, count }),
      failed: () => undefined,
    }, Promise.resolve(), { handler: async () => undefined, maxRecords: 10 });
    lane.push(record(0));
    await new Promise((r) => setTimeout(r, 5));
    for (let i = 1; i <= 4; i += 1) lane.push(record(i));
    release();
    await until(() => settled.length === 2);
    expect(settled).to.deep.equal([{ offset: 0, backlog: 4, count: 1 }, { offset: 4, backlog: 0, count: 4 }]);
  });

  it('computes the back-off as doubling from the initial delay, capped', () => {
    const policy = { maxAttempts: 10, initialDelayMs: 1000, maxDelayMs: 60_000 };
    expect([1, 2, 3, 6, 7, 9, 500].map((a) => backoffDelay(policy, a))).to.deep.equal([1000, 2000, 4000, 32_000, 60_000, 60_000, 60_000]);
  });
});

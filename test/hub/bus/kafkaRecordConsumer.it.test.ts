import { expect } from 'chai';
import { KafkaProducer, KafkaRecordConsumer, KafkaTopicAdmin } from '../../../hub/bus/kafkaBus.ts';
import type { ConsumedRecord, DeliveryAttempt, RecordHandler } from '../../../hub/bus/messageBus.ts';
import { silentLogger } from '../../../hub/core/logger.ts';
import { keysForTwoPartitions } from '../../support/partitionKeys.ts';
import { eventually, KAFKA_BROKERS, uniqueName } from '../../support/testServices.ts';

const log = silentLogger();
const admin = new KafkaTopicAdmin(KAFKA_BROKERS, log);

interface Handled {
  consumer: string;
  partition: number;
  offset: number;
  value: string;
  attempt: number;
  at: number;
}

/**
 * A handler for tests: values starting with `stuck` fail until their final attempt (when a
 * real handler dead-letters), unless `settles` says this consumer can handle them.
 */
function testHandler(name: string, handled: Handled[], attempts: Handled[], settles: (value: string) => boolean = () => false): RecordHandler {
  return async (record: ConsumedRecord, delivery: DeliveryAttempt) => {
    const value = record.value.toString();
    const entry = { consumer: name, partition: record.partition, offset: record.offset, value, attempt: delivery.attempt, at: Date.now() };
    attempts.push(entry);
    if (value.startsWith('stuck') && !delivery.final && !settles(value)) throw new Error('store unreachable');
    handled.push(entry);
  };
}

describe('Kafka consumer with one lane per partition, against real Kafka', function () {
  this.timeout(120_000);
  const producer = new KafkaProducer({ brokers: KAFKA_BROKERS, clientId: 'lane-test', deliveryTimeoutMs: 5000, maxQueuedMessages: 10_000 }, log);
  let keys: [string, string];
  const consumers: KafkaRecordConsumer[] = [];

  const consumer = (topic: string, groupId: string, clientId: string, retry = { maxAttempts: 6, initialDelayMs: 400, maxDelayMs: 800 }, batchSize = 20) => {
    const c = new KafkaRecordConsumer({ brokers: KAFKA_BROKERS, groupId, clientId, topics: [topic], batchSize, retry }, log);
    consumers.push(c);
    return c;
  };
  const publish = (topic: string, partition: 0 | 1, value: string) => producer.publish({ topic, key: keys[partition], value: Buffer.from(value), headers: {} });

  before(async () => {
    keys = await keysForTwoPartitions(producer, 'patient');
  });
  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.stop()));
  });
  after(async () => {
    await producer.close();
  });

  it('keeps handling another partition while one record is retried, then moves that partition on after its final attempt', async () => {
    const topic = uniqueName('lanes');
    await admin.ensureTopics([{ name: topic, partitions: 2 }]);
    await publish(topic, 1, 'stuck-1');
    await publish(topic, 1, 'after-stuck');
    for (let i = 0; i < 5; i += 1) await publish(topic, 0, `other-${i}`);

    const handled: Handled[] = [];
    const attempts: Handled[] = [];
    await consumer(topic, uniqueName('g'), 'lane-a').start(testHandler('a', handled, attempts));

    await eventually(async () => (handled.some((h) => h.value === 'after-stuck') ? true : undefined), 60_000, 'the stuck partition to move on');
    const stuck = handled.find((h) => h.value === 'stuck-1')!;
    expect(stuck.attempt, 'settled on the final attempt').to.equal(6);
    expect(attempts.filter((a) => a.value === 'stuck-1').map((a) => a.attempt)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    const others = handled.filter((h) => h.value.startsWith('other-'));
    expect(others.map((h) => h.value)).to.deep.equal(['other-0', 'other-1', 'other-2', 'other-3', 'other-4']);
    expect(Math.max(...others.map((h) => h.at)), 'the other partition was done while the stuck record was still being retried').to.be.below(stuck.at);
    const afterStuck = handled.find((h) => h.value === 'after-stuck')!;
    expect(afterStuck.at).to.be.at.least(stuck.at);
  });

  it('commits only records that are done: a consumer stopped during a back-off leaves the stuck record to the next', async () => {
    const topic = uniqueName('lanes');
    const groupId = uniqueName('g');
    await admin.ensureTopics([{ name: topic, partitions: 2 }]);
    await publish(topic, 0, 'done-0');
    await publish(topic, 1, 'done-1');
    await publish(topic, 1, 'stuck-2');
    await publish(topic, 1, 'behind-stuck');

    const first: Handled[] = [];
    const firstAttempts: Handled[] = [];
    const a = consumer(topic, groupId, 'lane-a', { maxAttempts: 100, initialDelayMs: 200, maxDelayMs: 200 });
    await a.start(testHandler('a', first, firstAttempts));
    await eventually(async () => (first.length === 2 && firstAttempts.filter((x) => x.value === 'stuck-2').length >= 2 ? true : undefined), 30_000, 'the first consumer to reach the stuck record');
    await a.stop();
    expect(first.map((h) => h.value).sort()).to.deep.equal(['done-0', 'done-1']);

    const second: Handled[] = [];
    await consumer(topic, groupId, 'lane-b').start(testHandler('b', second, [], () => true));
    await eventually(async () => (second.length >= 2 ? true : undefined), 30_000, 'the next consumer to get the uncommitted records');
    await new Promise((r) => setTimeout(r, 1000)); // anything committed wrongly would show up again by now
    expect(second.map((h) => h.value)).to.deep.equal(['stuck-2', 'behind-stuck']);
  });

  it('pauses fetching for a partition whose lane is full, so records do not pile up, and resumes when it drains', async () => {
    const topic = uniqueName('lanes');
    await admin.ensureTopics([{ name: topic, partitions: 2 }]);
    await publish(topic, 1, 'stuck-3');
    await Promise.all(Array.from({ length: 300 }, (_, i) => publish(topic, 1, `queued-${String(i).padStart(3, '0')}`)));

    const handled: Handled[] = [];
    const attempts: Handled[] = [];
    const batchSize = 20;
    const c = consumer(topic, uniqueName('g'), 'lane-a', { maxAttempts: 6, initialDelayMs: 500, maxDelayMs: 500 }, batchSize);
    await c.start(testHandler('a', handled, attempts));
    await eventually(async () => (attempts.length >= 3 ? true : undefined), 30_000, 'the stuck record to be retried a few times');
    const waiting = Object.values(c.backlogByPartition())[0] ?? 0;
    expect(waiting, 'fetched while the lane is stuck').to.be.at.least(1).and.at.most(2 * batchSize);

    await eventually(async () => (handled.length === 301 ? true : undefined), 60_000, 'every record after the lane drains');
    expect(handled.slice(1).map((h) => h.value)).to.deep.equal(Array.from({ length: 300 }, (_, i) => `queued-${String(i).padStart(3, '0')}`));
  });

  it('on a rebalance stops the lane of a revoked partition, whose new owner takes the record over', async () => {
    const topic = uniqueName('lanes');
    const groupId = uniqueName('g');
    await admin.ensureTopics([{ name: topic, partitions: 2 }]);
    await publish(topic, 1, 'stuck-4');

    const aHandled: Handled[] = [];
    const aAttempts: Handled[] = [];
    // The range assignor orders members by id, which starts with the client id: `lane-a` keeps partition 0, `lane-b` gets 1.
    await consumer(topic, groupId, 'lane-a', { maxAttempts: 1000, initialDelayMs: 200, maxDelayMs: 200 }).start(testHandler('a', aHandled, aAttempts));
    await eventually(async () => (aAttempts.length >= 2 ? true : undefined), 30_000, 'lane-a to retry the stuck record');

    const bHandled: Handled[] = [];
    await consumer(topic, groupId, 'lane-b').start(testHandler('b', bHandled, [], () => true));
    await eventually(async () => (bHandled.some((h) => h.value === 'stuck-4') ? true : undefined), 60_000, 'lane-b to take partition 1 over');

    const triesBefore = aAttempts.length;
    await new Promise((r) => setTimeout(r, 1500));
    expect(aAttempts.length, 'lane-a stopped retrying the revoked partition').to.equal(triesBefore);
    expect(aHandled).to.deep.equal([]);

    await publish(topic, 0, 'after-rebalance');
    await eventually(async () => (aHandled.some((h) => h.value === 'after-rebalance') ? true : undefined), 30_000, 'lane-a to go on with partition 0');
  });
});

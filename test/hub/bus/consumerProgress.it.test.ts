import { expect } from 'chai';
import { KafkaProducer, KafkaRecordConsumer, KafkaTopicAdmin } from '../../../hub/bus/kafkaBus.ts';
import { silentLogger } from '../../../hub/core/logger.ts';
import { capturingLogger } from '../../support/capturingLogger.ts';
import { eventually, KAFKA_BROKERS, uniqueName } from '../../support/testServices.ts';

describe('the pipeline consumer logs its progress while catching up, against real Kafka', function () {
  this.timeout(120_000);

  it('logs the backlog with the lag taken from the partition end, then a summary once it reached the end', async () => {
    const topic = uniqueName('progress');
    await new KafkaTopicAdmin(KAFKA_BROKERS, silentLogger()).ensureTopics([{ name: topic, partitions: 1 }]);
    const producer = new KafkaProducer({ brokers: KAFKA_BROKERS, clientId: 'progress-test', deliveryTimeoutMs: 5000, maxQueuedMessages: 1000 }, silentLogger());
    await Promise.all(Array.from({ length: 80 }, (_, i) => producer.publish({ topic, key: 'k', value: Buffer.from(`r${i}`), headers: {} })));
    await producer.close();

    const { log, lines } = capturingLogger('info');
    // at most 10 records are fetched ahead, so a lag of 40 can only come from the partition's end
    const consumer = new KafkaRecordConsumer({
      brokers: KAFKA_BROKERS, groupId: uniqueName('progress-group'), clientId: 'progress-test', topics: [topic], batchSize: 10,
      retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 10 }, progress: { minLag: 40, intervalMs: 0 },
    }, log);
    let handled = 0;
    await consumer.start(async () => {
      handled += 1;
      await new Promise((r) => setTimeout(r, 2));
    });
    try {
      await eventually(async () => (lines.some((l) => l.msg === 'pipeline caught up') ? true : undefined), 60_000, 'the caught-up line');
    } finally {
      await consumer.stop();
    }
    const progress = lines.filter((l) => l.msg === 'pipeline catching up' || l.msg === 'pipeline caught up');
    expect(progress[0]!.msg).to.equal('pipeline catching up');
    expect(progress[0]!.totalLag as number).to.be.at.least(40);
    expect(progress.at(-1)).to.include({ msg: 'pipeline caught up' });
    expect(progress.at(-1)!.handled as number).to.be.within(40, 80);
    expect(handled).to.equal(80);
  });
});

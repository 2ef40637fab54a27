import { expect } from 'chai';
import { runStatus, type IngestStatusReport } from '../../../app/commands/statusCommand.ts';
import { KafkaProducer, KafkaRecordConsumer, KafkaTopicAdmin } from '../../../hub/bus/kafkaBus.ts';
import { KafkaGroupOffsets } from '../../../hub/bus/kafkaGroupOffsets.ts';
import { KafkaTopicReader } from '../../../hub/bus/kafkaTopicReader.ts';
import { HubError } from '../../../hub/core/hubError.ts';
import { silentLogger } from '../../../hub/core/logger.ts';
import { DeadLetterPublisher } from '../../../hub/pipeline/deadLetter.ts';
import { keysForTwoPartitions } from '../../support/partitionKeys.ts';
import { eventually, isolatedConfig } from '../../support/testServices.ts';

describe('hub status against real Kafka: lag per partition, rate and dead letters of the pipeline group', function () {
  this.timeout(120_000);
  const log = silentLogger();
  const config = isolatedConfig();
  const { hl7v2Inbound: inbound, fhirInbound, deadLetter: dlq } = config.kafka.topics;
  const brokers = config.kafka.brokers;
  const producer = new KafkaProducer({ brokers, clientId: 'status-test', deliveryTimeoutMs: 5000, maxQueuedMessages: 1000 }, log);
  const offsets = new KafkaGroupOffsets(brokers);
  const reader = new KafkaTopicReader(brokers);
  // the pipeline stand-in: handles everything but the record "hold", which it holds until released
  const consumer = new KafkaRecordConsumer({
    brokers, groupId: config.pipeline.groupId, clientId: 'status-test-pipeline', topics: [inbound], batchSize: 20,
    retry: { maxAttempts: 100, initialDelayMs: 100, maxDelayMs: 100 },
  }, log);
  let release!: () => void;
  const held = new Promise<void>((r) => { release = r; });
  let out: string[] = [];
  const committed = async (): Promise<Record<string, number | null>> =>
    Object.fromEntries((await offsets.committedOffsets(config.pipeline.groupId, [inbound])).map((c) => [`${c.partition}`, c.offset]));
  const report = (): IngestStatusReport => JSON.parse(out.at(-1)!) as IngestStatusReport;

  before(async () => {
    await new KafkaTopicAdmin(brokers, log).ensureTopics([{ name: inbound, partitions: 2 }, { name: fhirInbound, partitions: 1 }, { name: dlq, partitions: 1 }]);
    const [key0, key1] = await keysForTwoPartitions(producer, 'patient');
    // partition 0: ten records, the pipeline stops at offset 6; partition 1: four, all handled
    for (let i = 0; i < 10; i += 1) await producer.publish({ topic: inbound, key: key0, value: Buffer.from(i === 6 ? 'hold' : `p0-${i}`), headers: {} });
    for (let i = 0; i < 4; i += 1) await producer.publish({ topic: inbound, key: key1, value: Buffer.from(`p1-${i}`), headers: {} });
    const dead = new DeadLetterPublisher(producer, dlq);
    for (const code of ['HL7_PARSE_FAILED', 'MAPPING_UNSUPPORTED_EVENT', 'PIPELINE_ATTEMPTS_EXHAUSTED']) {
      await dead.send({ topic: inbound, partition: 0, offset: 0, value: Buffer.from('x'), headers: {} }, new HubError(code, 'test'), 'map');
      await new Promise((r) => setTimeout(r, 5)); // distinct failedAt, so newest first is well defined
    }
    await consumer.start(async (record) => {
      if (record.value.toString() === 'hold') await held;
    });
    await eventually(async () => {
      const c = await committed();
      return c['0'] === 6 && c['1'] === 4 ? c : undefined;
    }, 60_000, 'the group to commit up to the held record');
  });
  beforeEach(() => {
    out = [];
  });
  after(async () => {
    release();
    await consumer.stop();
    await Promise.all([offsets.close(), reader.close(), producer.close()]);
  });

  const run = (...args: string[]) => runStatus(args, { config, offsets, reader, out: (t) => out.push(t) });

  it('shows committed offset, end and lag per partition of both inbound topics, and the dead-letter count with the newest codes', async () => {
    expect(await run('--interval', '0', '--json', '--dead-letters', '2')).to.equal(0);
    expect(out).to.have.length(1);
    const r = report();
    expect(r.group).to.equal(config.pipeline.groupId);
    expect(r.partitions).to.deep.equal([
      { topic: inbound, partition: 0, committed: 6, low: 0, high: 10, lag: 4 },
      { topic: inbound, partition: 1, committed: 4, low: 0, high: 4, lag: 0 },
      { topic: fhirInbound, partition: 0, committed: null, low: 0, high: 0, lag: 0 },
    ]);
    expect(r.totalLag).to.equal(4);
    expect(r.rate).to.equal(null);
    expect(r.deadLetters.records).to.equal(3);
    expect(r.deadLetters.recent.map((e) => [e.position, e.code])).to.deep.equal([['0:2', 'PIPELINE_ATTEMPTS_EXHAUSTED'], ['0:1', 'MAPPING_UNSUPPORTED_EVENT']]);
  });

  it('prints the same as a table by default', async () => {
    await run('--interval', '0');
    const text = out.join('\n');
    expect(text).to.match(/TOPIC\s+PARTITION\s+COMMITTED\s+END\s+LAG/);
    expect(text).to.match(new RegExp(`${inbound.replace(/\./g, '\\.')}\\s+0\\s+6\\s+10\\s+4`));
    expect(text).to.match(new RegExp(`${fhirInbound.replace(/\./g, '\\.')}\\s+0\\s+-\\s+0\\s+0`));
    expect(text).to.include('total lag 4 record(s)');
    expect(text).to.include(`dead letters: 3 record(s) in ${dlq}`);
    expect(text).to.match(/0:2\s+\S+\s+PIPELINE_ATTEMPTS_EXHAUSTED\s+map/);
  });

  it('reports no rate and no ETA while the group is stuck with records waiting', async () => {
    await run('--interval', '300ms', '--json');
    expect(report().rate).to.include({ handled: 0, perSecond: 0, etaSeconds: null });
  });

  it('counts what the group committed between the two readings as the rate; --watch prints a reading per interval', async () => {
    let waits = 0;
    const sleep = async (): Promise<boolean> => {
      waits += 1;
      if (waits === 1) {
        release();
        await eventually(async () => ((await committed())['0'] === 10 ? true : undefined), 30_000, 'the held record to be committed');
        return true;
      }
      return waits <= 2; // a second refresh, then Ctrl-C
    };
    expect(await runStatus(['--watch', '--interval', '1s', '--json'], { config, offsets, reader, out: (t) => out.push(t), sleep })).to.equal(0);
    expect(out).to.have.length(2);
    const first = JSON.parse(out[0]!) as IngestStatusReport;
    expect(first.rate).to.include({ handled: 4, etaSeconds: 0 });
    expect(first.rate!.perSecond).to.be.greaterThan(0);
    expect(first.totalLag).to.equal(0);
    expect(report().rate).to.include({ handled: 0, etaSeconds: 0 });
  });
});

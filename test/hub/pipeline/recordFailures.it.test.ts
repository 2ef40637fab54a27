import { expect } from 'chai';
import type { Db } from 'mongodb';
import { MongoNetworkError, MongoServerError } from 'mongodb';
import path from 'node:path';
import { KafkaProducer, KafkaRecordConsumer, KafkaTopicAdmin } from '../../../hub/bus/kafkaBus.ts';
import { KafkaTopicReader } from '../../../hub/bus/kafkaTopicReader.ts';
import type { ConsumedRecord } from '../../../hub/bus/messageBus.ts';
import { HubError } from '../../../hub/core/hubError.ts';
import { CONTENT_TYPES, ENVELOPE_HEADERS, envelopeHeaders } from '../../../hub/core/inboundEnvelope.ts';
import { silentLogger } from '../../../hub/core/logger.ts';
import { PROJECT_ROOT } from '../../../hub/core/schemaValidator.ts';
import { loadMappings } from '../../../hub/mapping/mappingLoader.ts';
import { DeadLetterPublisher, DLQ_HEADERS, replayDeadLetters } from '../../../hub/pipeline/deadLetter.ts';
import { FhirNormalizer } from '../../../hub/pipeline/fhirNormalizer.ts';
import { createRecordProcessor } from '../../../hub/pipeline/recordProcessor.ts';
import { basicResourceValidator } from '../../../hub/pipeline/resourceValidator.ts';
import { connectMongo, type MongoConnection } from '../../../hub/store/mongoConnection.ts';
import { MongoResourceStore } from '../../../hub/store/mongoResourceStore.ts';
import { MongoSourceMessageLog } from '../../../hub/store/mongoSourceMessageLog.ts';
import type { ResourceStore, WriteRequest, WriteResult } from '../../../hub/store/resourceStore.ts';
import { MRN_SYSTEM, patient } from '../../connectors/fhir/fhirSamples.ts';
import { keysForTwoPartitions } from '../../support/partitionKeys.ts';
import { eventually, isolatedConfig } from '../../support/testServices.ts';

/** What the store does for one MRN on each write attempt (1-based): throw an error or write. */
type Fault = (attempt: number) => Error | undefined;

/**
 * The real FerretDB store with faults injected per patient MRN, thrown the way the store
 * reports a failed write: its own HubError with the driver's error as cause.
 */
class FaultyStore {
  readonly faults = new Map<string, Fault>();
  readonly writes = new Map<string, number[]>();

  constructor(private readonly real: MongoResourceStore) {}

  asStore(): ResourceStore {
    return new Proxy(this.real, {
      get: (target, prop, receiver) => {
        if (prop === 'write') return (req: WriteRequest) => this.write(req);
        // the pipeline writes batches: each request meets its patient's fault, as a single write would
        if (prop === 'writeMany') return async (reqs: WriteRequest[]) => { const out: WriteResult[] = []; for (const r of reqs) out.push(await this.write(r)); return out; };
        return Reflect.get(target, prop, receiver);
      },
    });
  }

  private async write(request: WriteRequest): Promise<WriteResult> {
    const mrn = (request.resource as { identifier?: Array<{ value?: string }> }).identifier?.[0]?.value ?? '';
    const times = this.writes.get(mrn) ?? [];
    times.push(Date.now());
    this.writes.set(mrn, times);
    const cause = this.faults.get(mrn)?.(times.length);
    if (cause) throw new HubError('STORE_WRITE_FAILED', `cannot write ${request.resource.resourceType}/${request.resource.id}: ${cause.message}`, {}, { cause });
    return this.real.write(request);
  }
}

const networkDown = () => new MongoNetworkError('connection 3 to 127.0.0.1:27017 closed');
const refusedValue = () => new MongoServerError({ ok: 0, code: 2, errmsg: 'invalid value: { "v": +Inf } (infinity values are not allowed)' });

describe('a record the store cannot take never holds the other partitions (Kafka + FerretDB)', function () {
  this.timeout(120_000);
  const config = isolatedConfig({ 'kafka.partitions': 2 });
  const { fhirInbound: inbound, deadLetter: dlq } = config.kafka.topics;
  const MAX_ATTEMPTS = 5;
  const log = silentLogger();
  const producer = new KafkaProducer({ brokers: config.kafka.brokers, clientId: 'failures-test', deliveryTimeoutMs: 5000, maxQueuedMessages: 1000 }, log);
  const reader = new KafkaTopicReader(config.kafka.brokers);
  let mongo: MongoConnection;
  let db: Db;
  let faulty: FaultyStore;
  let consumer: KafkaRecordConsumer;
  let keys: [string, string];

  before(async () => {
    await new KafkaTopicAdmin(config.kafka.brokers, log).ensureTopics([inbound, dlq].map((name) => ({ name, partitions: 2 })));
    keys = await keysForTwoPartitions(producer, 'MRN');
    mongo = await connectMongo(config.mongo.url, config.mongo.database);
    db = mongo.db;
    faulty = new FaultyStore(new MongoResourceStore(db));
    const registry = loadMappings(path.join(PROJECT_ROOT, 'mappings'));
    const processor = createRecordProcessor({
      normalizers: {
        [CONTENT_TYPES.fhirJson]: new FhirNormalizer({
          store: faulty.asStore(), registry: () => registry, validators: [basicResourceValidator], log,
          settings: { timeZone: 'Asia/Shanghai', identifierSystemBase: 'urn:hub:identifier' }, limits: config.pipeline.limits,
        }),
      },
      store: faulty.asStore(),
      messageLog: new MongoSourceMessageLog(db),
      deadLetter: new DeadLetterPublisher(producer, dlq),
      log,
    });
    consumer = new KafkaRecordConsumer({
      brokers: config.kafka.brokers, groupId: config.pipeline.groupId, clientId: 'failures-pipeline', topics: [inbound], batchSize: 20,
      retry: { maxAttempts: MAX_ATTEMPTS, initialDelayMs: 1000, maxDelayMs: 2000 },
    }, log);
    await consumer.start(processor);
  });

  after(async () => {
    await consumer?.stop();
    await reader.close();
    await producer.close();
    await db?.dropDatabase().catch(() => undefined);
    await mongo?.close();
  });

  /** Publishes a Patient to the partition of `keys[partition]`, as the FHIR push connector would. */
  async function publishPatient(partition: 0 | 1, mrn: string, body = JSON.stringify(patient(mrn.toLowerCase(), mrn))): Promise<void> {
    const headers = envelopeHeaders({
      connectorId: 'emr-push', sourceSystem: 'HIS', receivedAt: new Date().toISOString(), contentType: CONTENT_TYPES.fhirJson,
      messageType: 'Patient', controlId: mrn, raw: Buffer.alloc(0),
    });
    const pos = await producer.publish({ topic: inbound, key: keys[partition], value: Buffer.from(body), headers });
    expect(pos.partition).to.equal(partition);
  }

  const logged = (controlId: string, status = 'processed') => eventually(async () =>
    (await db.collection('source_messages').findOne({ controlId, status })) ?? undefined, 60_000, `${controlId} to be ${status}`);

  async function deadLetters(controlId: string): Promise<ConsumedRecord[]> {
    const found: ConsumedRecord[] = [];
    for await (const r of reader.read(dlq)) if (r.headers[ENVELOPE_HEADERS.controlId] === controlId) found.push(r);
    return found;
  }
  const deadLettered = (controlId: string) => eventually(async () => (await deadLetters(controlId))[0], 60_000, `${controlId} in the dead-letter topic`);

  it('stores records of another partition while one is retried, dead-letters it with its attempts after the last, and moves its partition on', async () => {
    faulty.faults.set('STUCK', networkDown);
    await publishPatient(1, 'STUCK');
    await publishPatient(1, 'BEHIND');
    const others = ['P0-1', 'P0-2', 'P0-3', 'P0-4', 'P0-5'];
    for (const mrn of others) await publishPatient(0, mrn);

    const stored = await Promise.all(others.map((mrn) => logged(mrn)));
    const lastOtherDone = Math.max(...stored.map((d) => (d.processedAt as Date).getTime()));
    const stuckTriesMeanwhile = (faulty.writes.get('STUCK') ?? []).filter((t) => t <= lastOtherDone).length;
    expect(stuckTriesMeanwhile, 'still retrying when the other partition was done').to.be.below(MAX_ATTEMPTS);

    const dead = await deadLettered('STUCK');
    expect(dead.headers).to.include({
      [DLQ_HEADERS.code]: 'PIPELINE_ATTEMPTS_EXHAUSTED', [DLQ_HEADERS.stage]: 'store', [DLQ_HEADERS.attempts]: String(MAX_ATTEMPTS),
      [DLQ_HEADERS.originalTopic]: inbound, [DLQ_HEADERS.originalPartition]: '1',
    });
    expect(dead.headers[DLQ_HEADERS.lastError]).to.match(/^STORE_WRITE_FAILED: cannot write Patient\/.*connection 3 to 127\.0\.0\.1:27017 closed/);
    expect(dead.headers[DLQ_HEADERS.reason]).to.contain(`gave up after ${MAX_ATTEMPTS} attempts`);
    expect(faulty.writes.get('STUCK')).to.have.length(MAX_ATTEMPTS);
    expect(lastOtherDone).to.be.below(Date.parse(dead.headers[DLQ_HEADERS.failedAt]!));

    const behind = await logged('BEHIND');
    expect((behind.processedAt as Date).getTime(), 'its partition moved on after the dead letter').to.be.at.least(faulty.writes.get('STUCK')!.at(-1)!);
    const log = await logged('STUCK', 'dead-lettered');
    expect(log.error).to.deep.include({ code: 'PIPELINE_ATTEMPTS_EXHAUSTED' });
  });

  it('replays the exhausted record once the store is back, and it is stored', async () => {
    faulty.faults.delete('STUCK');
    const report = await replayDeadLetters(reader, producer, dlq, { code: 'PIPELINE_ATTEMPTS_EXHAUSTED' });
    expect(report).to.deep.equal({ replayed: 1, skipped: [] });
    const doc = await logged('STUCK');
    const ref = (doc.resources as Array<{ reference: string }>)[0]!.reference;
    const stored = await faulty.asStore().read('Patient', ref.split('/')[1]!);
    expect(stored).to.deep.include({ identifier: [{ system: MRN_SYSTEM, value: 'STUCK' }] });
  });

  it('dead-letters a record the store refuses as data on its first attempt, with the refusal as reason', async () => {
    faulty.faults.set('REFUSED', refusedValue);
    await publishPatient(0, 'REFUSED');
    const dead = await deadLettered('REFUSED');
    expect(dead.headers).to.include({ [DLQ_HEADERS.code]: 'STORE_WRITE_FAILED', [DLQ_HEADERS.stage]: 'store', [DLQ_HEADERS.attempts]: '1' });
    expect(dead.headers[DLQ_HEADERS.reason]).to.contain('infinity values are not allowed');
    expect(faulty.writes.get('REFUSED'), 'never retried').to.have.length(1);
  });

  it('retries a transient store failure and stores the record when the store recovers', async () => {
    faulty.faults.set('FLAKY', (attempt) => (attempt <= 2 ? networkDown() : undefined));
    await publishPatient(1, 'FLAKY');
    await logged('FLAKY');
    expect(faulty.writes.get('FLAKY')).to.have.length(3);
    expect(await deadLetters('FLAKY')).to.deep.equal([]);
  });

  it('dead-letters a poison Patient already in Kafka with the path, without trying the store', async () => {
    const poison = '{"resourceType":"Patient","birthDate":"1980-01-01","multipleBirthInteger":1e400,"name":[{"family":"A\\u0000B"}]}';
    const writesBefore = [...faulty.writes.values()].flat().length;
    await publishPatient(0, 'POISON', poison);
    const dead = await deadLettered('POISON');
    expect(dead.headers).to.include({ [DLQ_HEADERS.code]: 'FHIR_NUMBER_NOT_FINITE', [DLQ_HEADERS.stage]: 'parse', [DLQ_HEADERS.attempts]: '1' });
    expect(JSON.parse(dead.headers[DLQ_HEADERS.outcome]!).issue[0].expression).to.deep.equal(['Patient.multipleBirthInteger']);
    expect([...faulty.writes.values()].flat().length).to.equal(writesBefore);
  });
});

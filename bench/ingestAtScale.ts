/**
 * End-to-end ingest at hospital scale, on the store `npm start` runs (FerretDB, our build) and
 * the real Kafka: ADT^A01 admissions of new patients and ORU^R01 results for stored ones, sent
 * over MLLP by several senders, timed from the first send until every message is stored,
 * matched (patient index) and searchable, with N patients already stored. Printed on the same
 * run beside the raw limits the figures are a fraction of: Kafka's produce rate for the same
 * payloads, and the store's bulk-insert rate for the same documents. Also where the pipeline's
 * time goes per stage.
 *
 *   npx tsx bench/ingestAtScale.ts --stored 10000 [--adt 2000] [--oru 500] [--senders 10]
 *   npx tsx bench/ingestAtScale.ts --stored 1000000 --seed-only     # seed first (resumable)
 *
 * Seeding runs each patient's ADT^A01 through the pipeline's own batch processor (mapping,
 * store, patient index, provenance), without Kafka, into `bench_ingest_<stored>`; a marker
 * records progress, so an interrupted seed resumes and a seeded database is reused.
 * Needs the services up (bash scripts/services.sh up) or KAFKA_BROKERS / MONGO_URL.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { MongoClient, type Db } from 'mongodb';
import { HubRuntime } from '../app/hubRuntime.ts';
import type { MllpConnector } from '../connectors/hl7v2-mllp/mllpConnector.ts';
import { KafkaProducer, KafkaTopicAdmin } from '../hub/bus/kafkaBus.ts';
import type { ConsumedRecord } from '../hub/bus/messageBus.ts';
import { loadConfig } from '../hub/config/loadConfig.ts';
import { CONTENT_TYPES, envelopeHeaders } from '../hub/core/inboundEnvelope.ts';
import { createLogger, silentLogger } from '../hub/core/logger.ts';
import { PROJECT_ROOT } from '../hub/core/schemaValidator.ts';
import { loadMappings } from '../hub/mapping/mappingLoader.ts';
import { createPatientIndex } from '../hub/mpi/createPatientIndex.ts';
import { patientIndexBatchHook } from '../hub/mpi/patientIndexHook.ts';
import { DeadLetterPublisher } from '../hub/pipeline/deadLetter.ts';
import { fullResourceValidators } from '../hub/pipeline/fhirSchemaValidator.ts';
import { Hl7v2Normalizer } from '../hub/pipeline/hl7v2Normalizer.ts';
import { createBatchProcessor } from '../hub/pipeline/recordProcessor.ts';
import { StageTimings } from '../hub/pipeline/stageTimings.ts';
import { MongoResourceStore } from '../hub/store/mongoResourceStore.ts';
import { MongoSourceMessageLog } from '../hub/store/mongoSourceMessageLog.ts';
import { ackCode, MllpTestClient } from '../test/support/mllpClient.ts';
import { adtA01, oruR01 } from './hl7FeedGenerator.ts';

const { values } = parseArgs({
  options: {
    stored: { type: 'string', default: '10000' },
    adt: { type: 'string', default: '2000' },
    oru: { type: 'string', default: '500' },
    senders: { type: 'string', default: '10' },
    batch: { type: 'string', default: '200' },
    'seed-only': { type: 'boolean', default: false },
    'skip-raw': { type: 'boolean', default: false },
  },
});
const stored = Number(values.stored);
const adtCount = Number(values.adt);
const oruCount = Number(values.oru);
const senders = Number(values.senders);
const seedBatch = Number(values.batch);
const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const mongoUrl = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017/';
const database = `bench_ingest_${stored}`;
// BENCH_LOG=info shows the hub's own log lines (to stdout, as JSON)
const log = process.env.BENCH_LOG ? createLogger({ level: process.env.BENCH_LOG, name: 'bench' }) : silentLogger();
const run = `bench_${Date.now().toString(36)}`;

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const seconds = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;
const say = (line: string) => process.stderr.write(`${line}\n`);

/** An ADT^A01 of the HIS as the MLLP connector puts it on the inbound topic. */
function recordOf(raw: string, n: number, key: string): ConsumedRecord {
  const value = Buffer.from(raw);
  const headers = envelopeHeaders({
    connectorId: 'his-adt', sourceSystem: 'HIS', receivedAt: new Date().toISOString(),
    contentType: CONTENT_TYPES.hl7v2, messageType: 'ADT^A01', controlId: `SEED${n}`, raw: value,
  });
  return { topic: 'seed', partition: 0, offset: n, value, headers, key };
}

/** The pipeline's batch processor on a database, without Kafka (seeding and the raw store figure). */
async function inProcessPipeline(db: Db, timings?: StageTimings) {
  const store = new MongoResourceStore(db);
  const registry = loadMappings(path.join(PROJECT_ROOT, 'mappings'));
  const normalizer = new Hl7v2Normalizer({
    store, registry: () => registry, validators: fullResourceValidators, limits: { maxSegments: 5000, maxResources: 2000 }, log,
    settings: { timeZone: 'Asia/Shanghai', identifierSystemBase: 'urn:hub:identifier' },
  });
  const index = await createPatientIndex({ db, store, log, rulesFile: 'config/mpi-rules.yaml' });
  const refusing = { publish: () => Promise.reject(new Error('dead letter while seeding')), inFlight: 0, close: async () => undefined };
  return createBatchProcessor({
    normalizers: { [CONTENT_TYPES.hl7v2]: normalizer }, store, messageLog: new MongoSourceMessageLog(db, store),
    deadLetter: new DeadLetterPublisher(refusing, 'unused'), log, onBatchProcessed: patientIndexBatchHook(index), ...(timings ? { timings } : {}),
  });
}

async function seed(db: Db): Promise<void> {
  const meta = db.collection<{ _id: string; done: number }>('bench_meta');
  let done = (await meta.findOne({ _id: 'seed' }))?.done ?? 0;
  if (done >= stored) {
    say(`[seed] ${database} already holds ${fmt(done)} patients`);
    return;
  }
  const batch = await inProcessPipeline(db);
  const started = process.hrtime.bigint();
  const from = done;
  let lastReport = Date.now();
  say(`[seed] ${database}: patients ${fmt(done)} -> ${fmt(stored)}`);
  while (done < stored) {
    const n = Math.min(seedBatch, stored - done);
    await batch(Array.from({ length: n }, (_, i) => recordOf(adtA01(done + i), done + i, `MRN${done + i}`)));
    done += n;
    await meta.replaceOne({ _id: 'seed' }, { done }, { upsert: true });
    if (Date.now() - lastReport > 10_000 || done === stored) {
      lastReport = Date.now();
      const rate = (done - from) / seconds(started);
      say(`[seed] ${fmt(done)} / ${fmt(stored)} patients, ${fmt(rate, 1)}/s, ETA ${fmt((stored - done) / rate / 60, 1)} min`);
    }
  }
  say(`[seed] done: ${fmt(stored - from)} patients in ${fmt(seconds(started) / 60, 1)} min`);
}

/** Raw Kafka produce of the same payloads, everything in flight. */
async function rawKafka(count: number): Promise<number> {
  const topic = `${run}.raw`;
  await new KafkaTopicAdmin(brokers, log).ensureTopics([{ name: topic, partitions: 3 }]);
  const producer = new KafkaProducer({ brokers, clientId: 'bench-raw', deliveryTimeoutMs: 60_000, maxQueuedMessages: 200_000 }, log);
  await producer.connect();
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: count }, (_, i) => producer.publish({ topic, key: `k${i}`, value: Buffer.from(adtA01(stored + i)), headers: {} })));
  const rate = count / seconds(started);
  await producer.close();
  return rate;
}

/**
 * The documents `count` ADT^A01 write (resources, history copies, postings, patient index,
 * provenance), made once through the pipeline in a scratch database, then inserted again into
 * another with insertMany batches of 1000 per collection: the store's raw rate for them.
 */
async function rawStore(client: MongoClient, count: number): Promise<{ docsPerMessage: number; docsPerSecond: number; messagesPerSecond: number }> {
  const source = client.db(`${run}_docs`);
  const target = client.db(`${run}_raw`);
  try {
    const batch = await inProcessPipeline(source);
    for (let i = 0; i < count; i += seedBatch) {
      await batch(Array.from({ length: Math.min(seedBatch, count - i) }, (_, j) => recordOf(adtA01(50_000_000 + i + j), i + j, `RAW${i + j}`)));
    }
    const collections = (await source.listCollections().toArray()).map((c) => c.name).filter((n) => n !== 'mpi_leases');
    const docs = new Map<string, unknown[]>();
    let total = 0;
    for (const name of collections) {
      const list = await source.collection(name).find({}).toArray();
      docs.set(name, list);
      total += list.length;
    }
    const started = process.hrtime.bigint();
    for (const [name, list] of docs) {
      for (let i = 0; i < list.length; i += 1000) await target.collection(name).insertMany(list.slice(i, i + 1000) as never[], { ordered: false });
    }
    const docsPerSecond = total / seconds(started);
    return { docsPerMessage: total / count, docsPerSecond, messagesPerSecond: docsPerSecond / (total / count) };
  } finally {
    await source.dropDatabase().catch(() => undefined);
    await target.dropDatabase().catch(() => undefined);
  }
}

const countAll = async (db: Db, coll: string) => Number(((await db.command({ count: coll, query: { _id: { $gte: '' } } })) as { n: number }).n);

async function sendOverMllp(port: number, messages: string[]): Promise<{ ackedPerSecond: number; nonAA: number }> {
  let next = 0;
  let nonAA = 0;
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: senders }, async () => {
    const client = await MllpTestClient.connect(port);
    while (next < messages.length) {
      const ack = await client.send(messages[next++]!);
      if (ackCode(ack).code !== 'AA') nonAA += 1;
    }
    client.close();
  }));
  return { ackedPerSecond: messages.length / seconds(started), nonAA };
}

/** Sends the messages and waits until source_messages holds them all: end-to-end rate. */
async function endToEnd(runtime: HubRuntime, db: Db, port: number, messages: string[], label: string) {
  runtime.pipelineTimings.reset();
  const before = await countAll(db, 'source_messages');
  const started = process.hrtime.bigint();
  const acked = await sendOverMllp(port, messages);
  const ackSeconds = seconds(started);
  let lastReport = Date.now();
  for (;;) {
    const now = await countAll(db, 'source_messages');
    if (now >= before + messages.length) break;
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      say(`[${label}] ${fmt(now - before)} / ${fmt(messages.length)} stored after ${fmt(seconds(started))} s`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const total = seconds(started);
  return { label, messages: messages.length, ackedPerSecond: acked.ackedPerSecond, ackSeconds, nonAA: acked.nonAA, storedPerSecond: messages.length / total, stages: runtime.pipelineTimings.perMessage(), batches: runtime.pipelineTimings.batches };
}

async function main(): Promise<void> {
  const client = await new MongoClient(mongoUrl).connect();
  const db = client.db(database);
  await seed(db);
  if (values['seed-only']) {
    await client.close();
    return;
  }

  const raw = values['skip-raw'] ? undefined : { kafka: await rawKafka(adtCount), store: await rawStore(client, Math.min(adtCount, 1000)) };

  const config = loadConfig({
    env: {},
    overrides: {
      'kafka.brokers': brokers, 'kafka.partitions': 3,
      'kafka.topics': { hl7v2Inbound: `${run}.hl7v2.inbound`, fhirInbound: `${run}.fhir.inbound`, deadLetter: `${run}.deadletter` },
      'mongo.url': mongoUrl, 'mongo.database': database, 'api.port': 0, 'auth.enabled': false,
      'pipeline.groupId': `${run}-normalizer`, 'log.level': 'silent',
      connectors: [
        { id: 'his-adt', kind: 'hl7v2-mllp', sourceSystem: 'HIS', host: '127.0.0.1', port: 0, options: { maxConnectionsPerAddress: senders + 5 } },
        { id: 'lis-results', kind: 'hl7v2-mllp', sourceSystem: 'LIS', host: '127.0.0.1', port: 0, options: { maxConnectionsPerAddress: senders + 5 } },
      ],
    },
  });
  const runtime = new HubRuntime(config, log, { api: false });
  await runtime.start();
  const [his, lis] = runtime.connectors as MllpConnector[];
  // patients never seen before in this database, whatever ran before (message ids are content-derived)
  const base = stored + 1_000_000 + await countAll(db, 'source_messages');
  const adt = Array.from({ length: adtCount }, (_, i) => adtA01(base + i));
  const oru = Array.from({ length: oruCount }, (_, i) => oruR01(Math.floor((i * 7919) % stored), base + i));
  const rows = [
    await endToEnd(runtime, db, his!.port!, adt, 'ADT^A01 (new patients)'),
    await endToEnd(runtime, db, lis!.port!, oru, 'ORU^R01 (6 OBX, stored patients)'),
  ];
  // searchable: the last admitted patient is found by identifier through the posting index
  const store = new MongoResourceStore(db);
  const t = process.hrtime.bigint();
  const found = await store.search('Patient', { criteria: [], where: [{ param: 'identifier', anyOf: [{ kind: 'entry', value: `MRN${String(base + adtCount - 1).padStart(8, '0')}` }] }], count: 5 });
  const searchMs = seconds(t) * 1000;
  await runtime.stop();

  const patients = await countAll(db, 'mpi_links');
  console.log(`\nIngest with ${fmt(stored)} patients stored (store: ${database}, ${fmt(patients)} indexed source Patients after the run), ${senders} MLLP senders`);
  if (raw) {
    console.log(`raw Kafka produce, same payloads: ${fmt(raw.kafka)} msg/s`);
    console.log(`raw store bulk insert, same documents: ${fmt(raw.store.docsPerSecond)} docs/s = ${fmt(raw.store.messagesPerSecond, 1)} ADT^A01/s (${fmt(raw.store.docsPerMessage, 1)} documents per message)`);
  }
  console.log('| messages | ACKed msg/s | stored+matched msg/s | of raw store | per message: map / store / repair / index / log ms |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) {
    const s = r.stages;
    const ofRaw = raw && r.label.startsWith('ADT') ? `${fmt(100 * r.storedPerSecond / raw.store.messagesPerSecond)} %` : '';
    console.log(`| ${fmt(r.messages)} ${r.label} | ${fmt(r.ackedPerSecond)} | ${fmt(r.storedPerSecond, 1)} | ${ofRaw} | ${fmt(s.map, 1)} / ${fmt(s.store, 1)} / ${fmt(s.repair, 1)} / ${fmt(s.index, 1)} / ${fmt(s.log, 1)} (${r.batches} batches) |`);
    if (r.nonAA) console.log(`  ${r.nonAA} messages were not answered AA`);
  }
  console.log(`identifier search for the last admitted patient: ${found.resources.length ? 'found' : 'NOT FOUND'} in ${fmt(searchMs, 1)} ms`);
  await client.close();
}

await main();

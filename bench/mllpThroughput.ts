/**
 * MLLP ingestion throughput: HL7v2 messages per second ACKed (AA) by the MLLP connector, which
 * answers only after Kafka confirmed the write, beside the raw Kafka produce rate of the same
 * payloads from the same process. Both use the same producer settings (idempotent, acks=all).
 *
 *   npx tsx bench/mllpThroughput.ts [--messages 20000] [--senders 1,10,50]
 *
 * Needs the services up (bash scripts/services.sh up) or KAFKA_BROKERS.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { MllpConnector } from '../connectors/hl7v2-mllp/mllpConnector.ts';
import { createConnector } from '../connectors/connectorRegistry.ts';
import { KafkaProducer, KafkaTopicAdmin } from '../hub/bus/kafkaBus.ts';
import { loadConfig } from '../hub/config/loadConfig.ts';
import { silentLogger } from '../hub/core/logger.ts';
import { PROJECT_ROOT } from '../hub/core/schemaValidator.ts';
import { ackCode, MllpTestClient } from '../test/support/mllpClient.ts';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '20000' },
    senders: { type: 'string', default: '1,10,50' },
  },
});
const total = Number(values.messages);
const senderCounts = values.senders!.split(',').map(Number);
const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const run = `bench_${Date.now().toString(36)}`;
const log = silentLogger();

const template = readFileSync(path.join(PROJECT_ROOT, 'examples/adt-a01-zhang-san.hl7'), 'utf8');
const controlIdField = template.split('\r')[0]!.split('|')[9]!;
/** Distinct control ids and patients, so keys spread over partitions as a real feed's do. */
function payload(i: number): string {
  return template.replace(`|${controlIdField}|`, `|BENCH${i}|`).replace(/\|(\d{5,})\^\^\^/, `|$1${i % 5000}^^^`);
}

function producer(): KafkaProducer {
  return new KafkaProducer({ brokers, clientId: 'bench', deliveryTimeoutMs: 30_000, maxQueuedMessages: 100_000 }, log);
}

async function ensureTopic(name: string): Promise<void> {
  await new KafkaTopicAdmin(brokers, log).ensureTopics([{ name, partitions: 3 }]);
}

/** `lanes` workers share `count` jobs; each job is awaited before its lane takes the next. */
async function inLanes(lanes: number, count: number, job: (i: number, lane: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: lanes }, async (_, lane) => {
    while (next < count) await job(next++, lane);
  }));
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function rawProduceRate(lanes: number, count: number): Promise<number> {
  const topic = `${run}.raw.${lanes}`;
  await ensureTopic(topic);
  const p = producer();
  await p.connect();
  const payloads = Array.from({ length: count }, (_, i) => Buffer.from(payload(i)));
  const seconds = await inLanes(lanes, count, async (i) => {
    await p.publish({ topic, key: `K${i % 5000}`, value: payloads[i]!, headers: { 'hub-bench': '1' } });
  });
  await p.close();
  return count / seconds;
}

async function mllpRate(senders: number, count: number): Promise<{ rate: number; nonAA: number }> {
  const topic = `${run}.mllp.${senders}`;
  const hub = loadConfig({
    env: {},
    overrides: {
      'kafka.brokers': brokers,
      'kafka.topics': { hl7v2Inbound: topic, fhirInbound: `${run}.fhir`, deadLetter: `${run}.dlq` },
      connectors: [],
    },
  });
  await ensureTopic(topic);
  await ensureTopic(`${run}.dlq`);
  const p = producer();
  await p.connect();
  const connector = createConnector({
    // every simulated sender connects from 127.0.0.1: lift the per-address limit to their number
    config: { id: 'bench-mllp', kind: 'hl7v2-mllp', sourceSystem: 'HIS', host: '127.0.0.1', port: 0, options: { maxConnectionsPerAddress: Math.max(senders, 1) } },
    hub, producer: p, log,
  }) as MllpConnector;
  await connector.start();
  const clients = await Promise.all(Array.from({ length: senders }, () => MllpTestClient.connect(connector.port!)));
  const payloads = Array.from({ length: count }, (_, i) => payload(i));
  let nonAA = 0;
  // Each lane is one sender connection that waits for its ACK before the next message, as HL7
  // original-mode senders do.
  const seconds = await inLanes(senders, count, async (i, lane) => {
    const ack = await clients[lane]!.send(payloads[i]!, 60_000);
    if (ackCode(ack).code !== 'AA') nonAA++;
  });
  for (const c of clients) c.close();
  await connector.stop();
  await p.close();
  return { rate: count / seconds, nonAA };
}

async function main(): Promise<void> {
  console.log(`MLLP ingestion benchmark: ${total} ADT^A01 messages of ${Buffer.byteLength(payload(0))} bytes, Kafka ${brokers}, 3 partitions, acks=all`);
  console.log('senders | MLLP ACKed msg/s | raw produce msg/s (same concurrency) | ratio | raw produce msg/s (all in flight)');
  const unbounded = await rawProduceRate(Math.min(total, 10_000), total);
  for (const senders of senderCounts) {
    const mllp = await mllpRate(senders, total);
    const raw = await rawProduceRate(senders, total);
    console.log([
      String(senders).padStart(7), mllp.rate.toFixed(0).padStart(16), raw.toFixed(0).padStart(36),
      (mllp.rate / raw).toFixed(2).padStart(5), unbounded.toFixed(0).padStart(33),
    ].join(' | ') + (mllp.nonAA ? `   (${mllp.nonAA} ACKs were not AA)` : ''));
  }
  console.log(`node ${process.version}, ${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB RSS at end`);
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});

/**
 * FHIR connector throughput against the real Kafka (acks=all, idempotent producer):
 * - push: single Patients POSTed by 1/10/50 concurrent clients, and transaction Bundles of 20
 *   entries, each answered 202 only after Kafka confirmed; inputs/s and resources/s.
 * - poll: resources/s a poller ingests from a local fake upstream FHIR server (pages of 100),
 *   fetch, check and Kafka confirmation included.
 *
 *   npx tsx bench/fhirConnectorThroughput.ts [--requests 5000] [--clients 1,10,50] [--polled 5000]
 *
 * Needs the services up (bash scripts/services.sh up) or KAFKA_BROKERS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Connector } from '../connectors/connector.ts';
import { createConnector } from '../connectors/connectorRegistry.ts';
import type { FhirHttpConnector } from '../connectors/fhir-http/fhirHttpConnector.ts';
import type { FhirPollConnector } from '../connectors/fhir-poll/fhirPollConnector.ts';
import { mintDevToken } from '../hub/auth/devToken.ts';
import { KafkaProducer, KafkaTopicAdmin } from '../hub/bus/kafkaBus.ts';
import type { ConnectorConfig } from '../hub/config/hubConfig.ts';
import { loadConfig } from '../hub/config/loadConfig.ts';
import { silentLogger } from '../hub/core/logger.ts';
import { patient, transactionBundle } from '../test/connectors/fhir/fhirSamples.ts';
import { FakeFhirUpstream } from '../test/connectors/fhir-poll/fakeFhirUpstream.ts';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '5000' },
    clients: { type: 'string', default: '1,10,50' },
    polled: { type: 'string', default: '5000' },
  },
});
const total = Number(values.requests);
const clientCounts = values.clients!.split(',').map(Number);
const polled = Number(values.polled);
const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const run = `bench_${Date.now().toString(36)}`;
const log = silentLogger();
const producer = new KafkaProducer({ brokers, clientId: 'bench', deliveryTimeoutMs: 30_000, maxQueuedMessages: 100_000 }, log);
const hub = loadConfig({ env: {}, overrides: {
  'kafka.brokers': brokers, 'kafka.topics': { hl7v2Inbound: `${run}.hl7`, fhirInbound: `${run}.fhir`, deadLetter: `${run}.dlq` }, connectors: [],
} });

function connector<C extends Connector>(config: ConnectorConfig): C {
  return createConnector({ config, hub, producer, log }) as C;
}

/** `lanes` workers share `count` jobs; each job is awaited before its lane takes the next. */
async function inLanes(lanes: number, count: number, job: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: lanes }, async () => {
    while (next < count) await job(next++);
  }));
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** A bearer token with system/*.write, as a real sender presents (the default auth of fhir-http); set in main. */
let authorization = '';

async function pushRate(url: string, lanes: number, count: number, body: (i: number) => string): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: lanes });
  const seconds = await inLanes(lanes, count, (i) => new Promise<void>((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/fhir+json', authorization } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 202 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body(i));
  }));
  agent.destroy();
  return count / seconds;
}

async function main(): Promise<void> {
  await new KafkaTopicAdmin(brokers, log).ensureTopics([`${run}.fhir`, `${run}.dlq`].map((name) => ({ name, partitions: 3 })));
  await producer.connect();
  authorization = `Bearer ${await mintDevToken(hub.auth!, { scope: 'system/*.write' })}`;

  const push = connector<FhirHttpConnector>({ id: 'bench-push', kind: 'fhir-http', sourceSystem: 'HIS', host: '127.0.0.1', port: 0 });
  await push.start();
  const url = `http://127.0.0.1:${push.port!}/fhir`;
  const one = (i: number) => JSON.stringify(patient(`p${i}`, `MRN${i % 5000}`));
  await pushRate(url, 10, 500, one); // warm-up: connections, JIT, topic leaders
  console.log(`fhir-http, ${total} single Patients (${one(1).length} bytes), 202 after Kafka confirmed`);
  console.log('clients | inputs/s');
  for (const lanes of clientCounts) console.log(`${String(lanes).padStart(7)} | ${(await pushRate(url, lanes, total, one)).toFixed(0)}`);
  const bundles = Math.max(100, Math.round(total / 10));
  const bundle = (i: number) => {
    const b = transactionBundle(`tx-${i}`, `MRN${i}`) as { entry: unknown[] };
    b.entry = Array.from({ length: 20 }, (_, k) => b.entry[k % 3]);
    return JSON.stringify(b);
  };
  const bundleRate = await pushRate(url, 10, bundles, bundle);
  console.log(`transaction Bundles of 20 entries (${bundle(1).length} bytes), 10 clients: ${bundleRate.toFixed(0)} Bundles/s = ${(bundleRate * 20).toFixed(0)} resources/s`);
  await push.stop();

  const upstream = new FakeFhirUpstream();
  const baseUrl = await upstream.start();
  for (let i = 0; i < polled; i += 1) upstream.put(patient(`p${i}`, `MRN${i}`));
  const stateDirectory = mkdtempSync(path.join(tmpdir(), 'bench-poll-'));
  const poll = connector<FhirPollConnector>({ id: 'bench-poll', kind: 'fhir-poll', sourceSystem: 'HIS', options: {
    baseUrl, resourceTypes: ['Patient'], schedule: '0 0 1 1 *', pageSize: 100, maxPagesPerRun: 100_000, stateDirectory,
  } });
  await poll.start();
  const started = process.hrtime.bigint();
  const report = await poll.pollNow();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (!report.ok) throw report.error;
  console.log(`fhir-poll, ${report.published} Patients in ${report.pages} pages of 100: ${(report.published / seconds).toFixed(0)} resources/s (${seconds.toFixed(2)} s)`);
  await poll.stop();
  await upstream.stop();
  rmSync(stateDirectory, { recursive: true, force: true });
  await producer.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

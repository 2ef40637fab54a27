import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createConnector } from '../../../connectors/connectorRegistry.ts';
import type { FhirPollConnector } from '../../../connectors/fhir-poll/fhirPollConnector.ts';
import { KafkaProducer } from '../../../hub/bus/kafkaBus.ts';
import type { ConnectorConfig } from '../../../hub/config/hubConfig.ts';
import { silentLogger } from '../../../hub/core/logger.ts';
import { eventually, isolatedConfig } from '../../support/testServices.ts';
import { FhirConnectorHarness } from '../fhir/fhirConnectorHarness.ts';
import { patient } from '../fhir/fhirSamples.ts';
import { FakeFhirUpstream } from './fakeFhirUpstream.ts';

describe('FHIR poll connector: schedule, sorting, auth and Kafka outages', function () {
  this.timeout(120_000);
  const upstream = new FakeFhirUpstream();
  let stateDirectory = '';
  let harness: FhirConnectorHarness<FhirPollConnector> | undefined;

  before(async () => {
    await upstream.start();
    for (let i = 1; i <= 5; i += 1) upstream.put(patient(`p${i}`, `MRN${i}`));
  });
  beforeEach(() => { stateDirectory = mkdtempSync(path.join(tmpdir(), 'fhir-poll-')); });
  afterEach(async () => {
    await harness?.stop();
    harness = undefined;
    upstream.ignoreSort = false;
    upstream.requests.length = 0;
    rmSync(stateDirectory, { recursive: true, force: true });
  });
  after(() => upstream.stop());

  const pollConfig = (options: Record<string, unknown>): ConnectorConfig => ({
    id: 'emr-poll', kind: 'fhir-poll', sourceSystem: 'HIS',
    options: { baseUrl: upstream.baseUrl, schedule: '0 0 1 1 *', stateDirectory, ...options },
  });

  it('polls on its cron schedule by itself, sending basic auth', async () => {
    process.env.HUB_TEST_UPSTREAM_BASIC = 'hub:pa55';
    harness = new FhirConnectorHarness<FhirPollConnector>(pollConfig({ schedule: '* * * * * *', basicAuthEnv: 'HUB_TEST_UPSTREAM_BASIC' }));
    await harness.start();
    const records = await harness.awaitRecords(harness.inboundTopic, 5, 20_000);
    expect(records).to.have.length(5);
    expect(upstream.requests[0]!.authorization).to.equal(`Basic ${Buffer.from('hub:pa55').toString('base64')}`);
    await eventually(async () => (harness!.connector.metrics().runs! >= 2 ? true : undefined), 10_000, 'a second scheduled run');
    expect((await harness.records(harness.inboundTopic)).length, 'later runs ingest nothing new').to.equal(5);
  });

  it('refuses to move on when a capped run met an upstream that ignores _sort', async () => {
    upstream.ignoreSort = true;
    harness = new FhirConnectorHarness<FhirPollConnector>(pollConfig({ pageSize: 2, maxPagesPerRun: 2 }));
    await harness.start();
    const report = await harness.connector.pollNow();
    expect(report.ok).to.equal(false);
    expect(report.error!.code).to.equal('FHIR_POLL_UNSORTED');
    expect(existsSync(path.join(stateDirectory, 'emr-poll.fhir-poll.json')), 'no watermark written').to.equal(false);
  });

  it('moves on page by page of a capped run when the upstream sorts', async () => {
    harness = new FhirConnectorHarness<FhirPollConnector>(pollConfig({ pageSize: 2, maxPagesPerRun: 2 }));
    await harness.start();
    expect(await harness.connector.pollNow()).to.deep.include({ ok: true, published: 4 });
    expect(await harness.connector.pollNow()).to.deep.include({ ok: true, published: 1, skipped: 1 });
    expect((await harness.awaitRecords(harness.inboundTopic, 5)).map((r) => JSON.parse(r.value.toString()).id)).to.deep.equal(['p1', 'p2', 'p3', 'p4', 'p5']);
  });

  it('starts a first run from the configured since, and from the watermark after that', async () => {
    harness = new FhirConnectorHarness<FhirPollConnector>(pollConfig({ since: '2026-03-01T08:00:03Z' }));
    await harness.start();
    expect(await harness.connector.pollNow()).to.deep.include({ ok: true, published: 3 });
    expect(upstream.requests[0]!.query._lastUpdated).to.equal('ge2026-03-01T08:00:03Z');
    await harness.connector.pollNow();
    expect(upstream.requests.at(-1)!.query._lastUpdated).to.equal('ge2026-03-01T08:00:05.000+00:00');
  });

  it('narrows the search of a type by its configured parameters, and keeps its own to itself', async () => {
    harness = new FhirConnectorHarness<FhirPollConnector>(pollConfig({ searchParams: { Patient: { active: 'true', organization: 'Organization/1' } } }));
    await harness.start();
    await harness.connector.pollNow();
    expect(upstream.requests[0]!.query).to.deep.equal({ active: 'true', organization: 'Organization/1', _sort: '_lastUpdated', _count: '100' });
    const own = new FhirConnectorHarness<FhirPollConnector>(pollConfig({ searchParams: { Patient: { _count: '5' } } }));
    expect(() => own.create()).to.throw('options.searchParams.Patient._count is set by the poller itself');
  });

  it('keeps the watermark where it was when Kafka does not confirm', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const brokers = `127.0.0.1:${(probe.address() as { port: number }).port}`;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const config = pollConfig({});
    const producer = new KafkaProducer({ brokers, clientId: 'poll-down-test', deliveryTimeoutMs: 2000, maxQueuedMessages: 100 }, silentLogger());
    const connector = createConnector({ config, hub: isolatedConfig({ connectors: [config], 'kafka.brokers': brokers }), producer, log: silentLogger() }) as FhirPollConnector;
    await connector.start();
    try {
      const report = await connector.pollNow();
      expect(report.ok).to.equal(false);
      expect(report.error!.code).to.match(/^BUS_/);
      expect(report.published).to.equal(0);
      expect(connector.health().status).to.equal('degraded');
      expect(existsSync(path.join(stateDirectory, 'emr-poll.fhir-poll.json'))).to.equal(false);
    } finally {
      await connector.stop();
      await producer.close();
    }
  });

  it('refuses a schedule that is not cron and a token variable that is not set', () => {
    const h = new FhirConnectorHarness<FhirPollConnector>(pollConfig({ schedule: 'every five minutes' }));
    expect(() => h.create()).to.throw(/options.schedule "every five minutes" is not a cron expression/);
    const t = new FhirConnectorHarness<FhirPollConnector>(pollConfig({ bearerTokenEnv: 'HUB_TEST_NOT_SET_ANYWHERE' }));
    expect(() => t.create()).to.throw(/HUB_TEST_NOT_SET_ANYWHERE/);
  });
});

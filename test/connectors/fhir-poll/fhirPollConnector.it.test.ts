import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FhirPollConnector } from '../../../connectors/fhir-poll/fhirPollConnector.ts';
import type { ConnectorConfig } from '../../../hub/config/hubConfig.ts';
import { ENVELOPE_HEADERS } from '../../../hub/core/inboundEnvelope.ts';
import { FhirConnectorHarness } from '../fhir/fhirConnectorHarness.ts';
import { MRN_SYSTEM, observation, patient } from '../fhir/fhirSamples.ts';
import { FakeFhirUpstream } from './fakeFhirUpstream.ts';

const NEVER = '0 0 1 1 *'; // the tests poll by hand; once a year the schedule would too

describe('FHIR poll connector against a fake upstream and real Kafka', function () {
  this.timeout(120_000);
  const upstream = new FakeFhirUpstream();
  const stateDirectory = mkdtempSync(path.join(tmpdir(), 'fhir-poll-'));
  process.env.HUB_TEST_UPSTREAM_TOKEN = 'up-token-1';
  let harness: FhirConnectorHarness<FhirPollConnector>;
  let config: ConnectorConfig;

  before(async () => {
    const baseUrl = await upstream.start();
    for (let i = 1; i <= 7; i += 1) upstream.put(patient(`p${i}`, `MRN${i}`));
    upstream.put(observation('o1', 'Patient/p1'));
    config = {
      id: 'emr-poll', kind: 'fhir-poll', sourceSystem: 'HIS',
      options: { baseUrl, resourceTypes: ['Patient', 'Observation'], schedule: NEVER, pageSize: 3, stateDirectory, bearerTokenEnv: 'HUB_TEST_UPSTREAM_TOKEN' },
    };
    harness = new FhirConnectorHarness<FhirPollConnector>(config);
    await harness.start();
  });
  after(async () => {
    await harness.stop();
    await upstream.stop();
    rmSync(stateDirectory, { recursive: true, force: true });
  });

  const restart = async () => {
    await harness.connector.stop();
    harness.connector = harness.create();
    await harness.connector.start();
  };

  it('pages through next links and publishes each resource keyed by its patient, with the token', async () => {
    const report = await harness.connector.pollNow();
    expect(report).to.deep.include({ ok: true, fetched: 8, published: 8, skipped: 0, pages: 4 });
    const records = await harness.awaitRecords(harness.inboundTopic, 8);
    expect(records.map((r) => r.key)).to.deep.equal([...[1, 2, 3, 4, 5, 6, 7].map((i) => `${MRN_SYSTEM}|MRN${i}`), 'Patient/p1']);
    expect(records[0]!.headers).to.include({
      [ENVELOPE_HEADERS.messageType]: 'Patient', [ENVELOPE_HEADERS.controlId]: 'Patient/p1/_history/1',
      [ENVELOPE_HEADERS.sourceSystem]: 'HIS', [ENVELOPE_HEADERS.contentType]: 'application/fhir+json',
    });
    expect(JSON.parse(records[7]!.value.toString())).to.deep.include({ resourceType: 'Observation', id: 'o1' });

    const patientSearches = upstream.requests.filter((r) => r.path === '/fhir/Patient');
    expect(patientSearches.map((r) => r.query._offset ?? '0')).to.deep.equal(['0', '3', '6']);
    expect(patientSearches[0]!.query).to.deep.equal({ _sort: '_lastUpdated', _count: '3' });
    expect(upstream.requests.every((r) => r.authorization === 'Bearer up-token-1')).to.equal(true);
    expect(harness.connector.health().status).to.equal('up');
  });

  it('persists the watermark, so a restarted connector does not ingest the same resources again', async () => {
    const state = JSON.parse(readFileSync(path.join(stateDirectory, 'emr-poll.fhir-poll.json'), 'utf8')) as { types: Record<string, { since: string; idsAtSince: string[] }> };
    expect(state.types.Patient).to.deep.include({ since: '2026-03-01T08:00:07.000+00:00', idsAtSince: ['p7'] });
    await restart();
    upstream.requests.length = 0;
    const report = await harness.connector.pollNow();
    expect(report).to.deep.include({ ok: true, fetched: 2, published: 0, skipped: 2 });
    expect(upstream.requests.find((r) => r.path === '/fhir/Patient')!.query._lastUpdated).to.equal('ge2026-03-01T08:00:07.000+00:00');
    expect(await harness.records(harness.inboundTopic)).to.have.length(8);
  });

  it('ingests only what changed since: an updated patient and a new one', async () => {
    upstream.put({ ...patient('p2', 'MRN2', 'Li') });
    upstream.put(patient('p8', 'MRN8'));
    await restart();
    const report = await harness.connector.pollNow();
    expect(report).to.deep.include({ ok: true, fetched: 4, published: 2, skipped: 2 }); // p7 and o1 sit at their watermarks
    const records = (await harness.awaitRecords(harness.inboundTopic, 10)).slice(8);
    expect(records.map((r) => r.headers[ENVELOPE_HEADERS.controlId])).to.deep.equal(['Patient/p2/_history/2', 'Patient/p8/_history/1']);
  });

  it('turns degraded on an upstream 500 without moving the watermark, and catches up on the next run', async () => {
    upstream.put(observation('o2', 'Patient/p8'));
    upstream.failNext = 1;
    const failed = await harness.connector.pollNow();
    expect(failed.ok).to.equal(false);
    expect(failed.error!.code).to.equal('FHIR_UPSTREAM_FAILED');
    expect(failed.error!.message).to.contain('HTTP 500: database is down');
    expect(harness.connector.health()).to.deep.include({ status: 'degraded' });
    expect(harness.connector.health().detail).to.contain('FHIR_UPSTREAM_FAILED');

    const retried = await harness.connector.pollNow();
    expect(retried).to.deep.include({ ok: true, published: 1 });
    expect(harness.connector.health().status).to.equal('up');
    const last = (await harness.awaitRecords(harness.inboundTopic, 11)).at(-1)!;
    expect(last.headers[ENVELOPE_HEADERS.controlId]).to.equal('Observation/o2/_history/1');
    expect(harness.connector.metrics()).to.include({ failedRuns: 1 });
  });

  it('reports a slow upstream as a timeout and an absent one as unreachable, never crashing', async () => {
    upstream.delayMs = 1500;
    (config.options as Record<string, unknown>).timeoutMs = 300;
    const timed = harness.create() as FhirPollConnector;
    await timed.start();
    const report = await timed.pollNow();
    await timed.stop();
    upstream.delayMs = 0;
    expect(report.error?.code).to.equal('FHIR_UPSTREAM_TIMEOUT');

    (config.options as Record<string, unknown>).baseUrl = 'http://127.0.0.1:9/fhir';
    const absent = harness.create() as FhirPollConnector;
    await absent.start();
    const unreachable = await absent.pollNow();
    expect(unreachable.error?.code).to.equal('FHIR_UPSTREAM_UNREACHABLE');
    expect(absent.health().status).to.equal('degraded');
    await absent.stop();
  });
});

import { expect } from 'chai';
import type { Patient } from 'fhir/r4.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { HubRuntime } from '../../../app/hubRuntime.ts';
import type { FhirPollConnector } from '../../../connectors/fhir-poll/fhirPollConnector.ts';
import { silentLogger } from '../../../hub/core/logger.ts';
import { eventually, isolatedConfig, MONGO_URL } from '../../support/testServices.ts';
import { MRN_SYSTEM, observation, patient } from '../fhir/fhirSamples.ts';
import { FakeFhirUpstream } from './fakeFhirUpstream.ts';

describe('FHIR polled from an upstream to FerretDB, through Kafka and the hub runtime', function () {
  this.timeout(90_000);
  const upstream = new FakeFhirUpstream();
  const stateDirectory = mkdtempSync(path.join(tmpdir(), 'fhir-poll-e2e-'));
  let runtime: HubRuntime;
  let mongo: MongoClient;
  let database = '';

  before(async () => {
    const baseUrl = await upstream.start();
    upstream.put(patient('p1', 'MRN800001'));
    upstream.put(observation('o1', 'Patient/p1'));
    const config = isolatedConfig({ connectors: [{
      id: 'emr-poll', kind: 'fhir-poll', sourceSystem: 'HIS',
      options: { baseUrl, resourceTypes: ['Patient', 'Observation'], schedule: '0 0 1 1 *', stateDirectory },
    }] });
    database = config.mongo.database;
    runtime = new HubRuntime(config, silentLogger(), { api: false });
    await runtime.start();
    mongo = await new MongoClient(MONGO_URL).connect();
  });
  after(async () => {
    await runtime.stop();
    await upstream.stop();
    await mongo?.db(database).dropDatabase().catch(() => undefined);
    await mongo?.close();
    rmSync(stateDirectory, { recursive: true, force: true });
  });

  it('stores each polled resource, logged under the version it was fetched at', async () => {
    const report = await (runtime.connectors[0] as FhirPollConnector).pollNow();
    expect(report).to.deep.include({ ok: true, published: 2 });
    const logs = await eventually(async () => {
      const found = await mongo.db(database).collection('source_messages').find({ controlId: { $in: ['Patient/p1/_history/1', 'Observation/o1/_history/1'] } }).toArray();
      return found.length === 2 ? found : undefined;
    }, 40_000, 'both polled resources to be processed');
    expect(logs.map((l) => l.status)).to.deep.equal(['processed', 'processed']);
    const patientRef = (logs.find((l) => l.controlId === 'Patient/p1/_history/1')!.resources as Array<{ reference: string }>)[0]!.reference;
    const stored = await runtime.store!.read('Patient', patientRef.split('/')[1]!) as Patient;
    expect(stored.identifier![0]).to.include({ system: MRN_SYSTEM, value: 'MRN800001' });
  });
});

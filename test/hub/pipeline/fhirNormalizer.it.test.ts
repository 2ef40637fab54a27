import { expect } from 'chai';
import type { Encounter, Observation, Patient } from 'fhir/r4.js';
import { CONTENT_TYPES, envelopeHeaders } from '../../../hub/core/inboundEnvelope.ts';
import { fixtureText } from '../mapping/fhirGolden.ts';
import { eventually } from '../../support/testServices.ts';
import { runningHub } from '../../support/runningHub.ts';

const TX = JSON.parse(fixtureText('fhir', 'transaction-patient-encounter-observation.json')) as {
  entry: Array<{ resource?: { resourceType: string; name?: Array<{ family: string }>; meta?: { lastUpdated?: string } } }>;
};

describe('FHIR Bundle from the FHIR inbound topic to FerretDB, through the hub runtime', function () {
  this.timeout(90_000);
  const { config, runtime, db } = runningHub({ connectors: [] }, { api: false, connectors: false });

  async function publish(body: unknown, controlId: string, raw?: Buffer): Promise<void> {
    const headers = envelopeHeaders({
      connectorId: 'emr-fhir', sourceSystem: 'EMR', receivedAt: new Date().toISOString(), contentType: CONTENT_TYPES.fhirJson,
      messageType: 'Bundle', controlId, raw: Buffer.alloc(0),
    });
    await runtime.producer!.publish({ topic: config.kafka.topics.fhirInbound, key: 'EMR|MRN100001', value: raw ?? Buffer.from(JSON.stringify(body)), headers });
  }

  const messageLog = (controlId: string) => eventually(async () => (
    await db().collection('source_messages').findOne({ controlId }) ?? undefined
  ), 30_000, `message ${controlId} to be processed`);

  let patientId = '';

  it('stores every resource of a transaction Bundle with hub ids and references that resolve in the store', async () => {
    await publish(TX, 'fhir-tx-1');
    const log = await messageLog('fhir-tx-1');
    expect(log.status).to.equal('processed');
    const refs = (log.resources as Array<{ reference: string; outcome: string }>);
    expect(refs.map((r) => r.reference.split('/')[0]).sort()).to.deep.equal(['Encounter', 'Observation', 'Patient']);
    expect(refs.every((r) => r.outcome === 'created')).to.equal(true);

    const byType = (t: string) => refs.find((r) => r.reference.startsWith(`${t}/`))!.reference.split('/')[1]!;
    const patient = (await runtime.store!.read('Patient', byType('Patient'))) as Patient;
    const encounter = (await runtime.store!.read('Encounter', byType('Encounter'))) as Encounter;
    const observation = (await runtime.store!.read('Observation', byType('Observation'))) as Observation;
    patientId = patient.id!;
    expect(patient.identifier![0]).to.include({ system: 'urn:oid:2.16.840.1.113883.19.5', value: 'MRN100001' });
    expect(encounter.subject!.reference).to.equal(`Patient/${patient.id}`);
    expect(observation.encounter!.reference).to.equal(`Encounter/${encounter.id}`);
    expect(await runtime.store!.read('Patient', observation.subject!.reference!.split('/')[1]!)).to.not.equal(undefined);
    expect(observation.meta!.source).to.equal('urn:hub:identifier/source/EMR#fhir-tx-1');
    expect(observation.code.coding![0]!.system).to.equal('http://loinc.org');
  });

  it('is idempotent: the same Bundle again changes nothing', async () => {
    await publish(TX, 'fhir-tx-2');
    const log = await messageLog('fhir-tx-2');
    expect((log.resources as Array<{ outcome: string }>).map((r) => r.outcome)).to.deep.equal(['unchanged', 'unchanged', 'unchanged']);
  });

  it('does not let an older version of the patient overwrite the newer one stored', async () => {
    const older = structuredClone(TX);
    older.entry[0]!.resource!.meta = { lastUpdated: '2026-11-01T00:00:00Z' };
    older.entry[0]!.resource!.name = [{ family: 'OLDNAME' }];
    await publish(older, 'fhir-tx-old');
    const log = await messageLog('fhir-tx-old');
    const patientOutcome = (log.resources as Array<{ reference: string; outcome: string }>).find((r) => r.reference === `Patient/${patientId}`)!;
    expect(patientOutcome.outcome).to.equal('stale');
    expect(((await runtime.store!.read('Patient', patientId)) as Patient).name![0]!.family).to.equal('张');
  });

  it('dead-letters a body that is not JSON, with the stage and code in the message log', async () => {
    await publish(undefined, 'fhir-bad-1', Buffer.from('{"resourceType": "Bundle", '));
    const log = await messageLog('fhir-bad-1');
    expect(log.status).to.equal('dead-lettered');
    expect((log.error as { code: string }).code).to.equal('FHIR_JSON_INVALID');
  });
});

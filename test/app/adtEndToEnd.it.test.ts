import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle, Encounter, Patient } from 'fhir/r4.js';
import { MongoClient } from 'mongodb';
import { HubRuntime } from '../../app/hubRuntime.ts';
import type { MllpConnector } from '../../connectors/hl7v2-mllp/mllpConnector.ts';
import { silentLogger, createLogger } from '../../hub/core/logger.ts';
import { PROJECT_ROOT } from '../../hub/core/schemaValidator.ts';
import { ackCode, MllpTestClient } from '../support/mllpClient.ts';
import { eventually, isolatedConfig, MONGO_URL } from '../support/testServices.ts';

const A01 = readFileSync(path.join(PROJECT_ROOT, 'examples', 'adt-a01-zhang-san.hl7'), 'utf8');

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { headers: { accept: 'application/fhir+json' } });
  return { status: res.status, body: (await res.json()) as T };
}

describe('ADT^A01 from MLLP to the FHIR API, through real Kafka and MongoDB', function () {
  this.timeout(90_000);
  const config = isolatedConfig();
  const runtime = new HubRuntime(config, process.env.HUB_TEST_LOG_LEVEL ? createLogger({ level: process.env.HUB_TEST_LOG_LEVEL }) : silentLogger());
  let client: MllpTestClient;
  let mongo: MongoClient;

  before(async () => {
    await runtime.start();
    const port = (runtime.connectors[0] as MllpConnector).port!;
    client = await MllpTestClient.connect(port);
    mongo = await new MongoClient(MONGO_URL).connect();
  });

  after(async () => {
    client?.close();
    await runtime.stop();
    await mongo?.db(config.mongo.database).dropDatabase().catch(() => undefined);
    await mongo?.close();
  });

  async function searchEncounters(patientId: string): Promise<Bundle> {
    return (await getJson<Bundle>(`${runtime.apiUrl()}/Encounter?patient=${patientId}`)).body;
  }

  const GOLDEN_TAG = encodeURIComponent('urn:hub:mdm|GOLDEN_RECORD');
  let patientId = '';

  it('answers AA only after the message is in Kafka, and the Patient becomes readable over HTTP', async () => {
    const ack = await client.send(A01);
    expect(ackCode(ack)).to.deep.equal({ code: 'AA', controlId: 'HIS000001' });

    const patients = await eventually(async () => {
      const b = (await getJson<Bundle>(`${runtime.apiUrl()}/Patient?identifier=MRN100001&_tag:not=${GOLDEN_TAG}`)).body;
      return b.entry?.length ? b : undefined;
    }, 30_000, 'the patient to be stored');
    expect(patients.entry).to.have.length(1);
    patientId = patients.entry![0]!.resource!.id!;

    const { status, body: patient } = await getJson<Patient>(`${runtime.apiUrl()}/Patient/${patientId}`);
    expect(status).to.equal(200);
    expect(patient.name?.[0]).to.deep.equal({ use: 'official', family: '张', given: ['三'] });
    expect(patient.gender).to.equal('male');
    expect(patient.birthDate).to.equal('1990-03-07');
    expect(patient.identifier?.find((i) => i.value === 'MRN100001')?.system).to.equal('urn:oid:2.16.840.1.113883.19.5');
    expect(patient.meta?.versionId).to.equal('1');
    expect(patient.meta?.source).to.equal('urn:hub:identifier/source/HIS#HIS000001');
  });

  it('derives one golden Patient for the person, which patient searches resolve to the source record', async () => {
    const golden = await eventually(async () => {
      const b = (await getJson<Bundle>(`${runtime.apiUrl()}/Patient?identifier=MRN100001&_tag=${GOLDEN_TAG}`)).body;
      return b.entry?.length ? b : undefined;
    }, 30_000, 'the golden patient');
    expect(golden.entry).to.have.length(1);
    const goldenPatient = golden.entry![0]!.resource as Patient;
    expect(goldenPatient.id).to.not.equal(patientId);
    expect(goldenPatient.name?.[0]?.family).to.equal('张');
    expect(goldenPatient.birthDate).to.equal('1990-03-07');
    const encounters = await eventually(async () => {
      const b = await searchEncounters(goldenPatient.id!);
      return b.entry?.length ? b : undefined;
    }, 20_000, 'encounters by the golden id');
    expect((encounters.entry![0]!.resource as Encounter).subject?.reference).to.equal(`Patient/${patientId}`);
  });

  it('serves the Encounter by patient search with the admission values', async () => {
    const bundle = await eventually(async () => {
      const b = await searchEncounters(patientId);
      return b.entry?.length ? b : undefined;
    }, 20_000, 'the encounter to be stored');
    expect(bundle.type).to.equal('searchset');
    expect(bundle.total).to.equal(1);
    const encounter = bundle.entry![0]!.resource as Encounter;
    expect(encounter.status).to.equal('in-progress');
    expect(encounter.class.code).to.equal('IMP');
    expect(encounter.subject?.reference).to.equal(`Patient/${patientId}`);
    expect(encounter.period?.start).to.equal('2026-11-23T08:00:00+08:00');
    expect(encounter.identifier?.[0]?.value).to.equal('VN20261123001');
  });

  it('creates no duplicate when the identical message arrives a second time', async () => {
    const ack = await client.send(A01);
    expect(ackCode(ack).code).to.equal('AA');
    const db = mongo.db(config.mongo.database);
    // The second copy is processed once its provenance record appears.
    await eventually(async () => {
      const n = await db.collection('source_messages').countDocuments({ controlId: 'HIS000001', status: 'processed' });
      const entry = await db.collection('source_messages').findOne({ controlId: 'HIS000001' });
      return n >= 1 && entry && (entry.position as { offset: number }).offset >= 1 ? true : undefined;
    }, 30_000, 'the second message to be processed');

    // the source record and its golden record, nothing more
    expect(await db.collection('Patient').countDocuments({})).to.equal(2);
    expect(await db.collection('Encounter').countDocuments({})).to.equal(1);
    const { body: patient } = await getJson<Patient>(`${runtime.apiUrl()}/Patient/${patientId}`);
    expect(patient.meta?.versionId).to.equal('1'); // identical content: no new version
    expect((await searchEncounters(patientId)).total).to.equal(1);
  });

  it('answers 404 with an OperationOutcome for an unknown id', async () => {
    const { status, body } = await getJson<{ resourceType: string; issue: Array<{ code: string }> }>(`${runtime.apiUrl()}/Patient/does-not-exist`);
    expect(status).to.equal(404);
    expect(body.resourceType).to.equal('OperationOutcome');
    expect(body.issue[0]!.code).to.equal('not-found');
  });

  it('rejects a message without MSH with AR and an ERR segment naming the problem', async () => {
    const ack = await client.send('PID|1||X\r');
    expect(ackCode(ack).code).to.equal('AR');
    const err = ack.split('\r').find((s) => s.startsWith('ERR'));
    expect(err).to.contain('HL7_MSH_MISSING');
    expect(err).to.contain('message must start with an MSH segment');
  });
});

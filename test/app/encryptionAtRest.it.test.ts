import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Bundle, Patient } from 'fhir/r4.js';
import { runDeadLetter } from '../../app/commands/deadLetterCommand.ts';
import type { MllpConnector } from '../../connectors/hl7v2-mllp/mllpConnector.ts';
import { KafkaProducer } from '../../hub/bus/kafkaBus.ts';
import { KafkaTopicReader } from '../../hub/bus/kafkaTopicReader.ts';
import { createKeyFile } from '../../hub/crypto/keyFile.ts';
import { OpeningTopicReader, recordOpener, SealingProducer } from '../../hub/crypto/recordSealing.ts';
import { silentLogger } from '../../hub/core/logger.ts';
import { PROJECT_ROOT } from '../../hub/core/schemaValidator.ts';
import { residentIdCheckChar } from '../../hub/mpi/chineseResidentId.ts';
import { ackCode, MllpTestClient } from '../support/mllpClient.ts';
import { runningHub } from '../support/runningHub.ts';
import { eventually } from '../support/testServices.ts';

/** Where scripts/services.sh keeps the servers' data (HUB_SERVICES_DIR, else .services). */
const SERVICES_DIR = process.env.HUB_SERVICES_DIR ?? path.join(PROJECT_ROOT, '.services');
const DATA_DIRS = [path.join(SERVICES_DIR, 'ferretdb', 'data'), path.join(SERVICES_DIR, 'kafka', 'data')];

const letters = (n: number) => Array.from({ length: n }, () => 'BCDFGHJKLMNPQRSTVWXZ'[randomInt(20)]).join('');
const digits = (n: number) => Array.from({ length: n }, () => String(randomInt(10))).join('');

/** A person no other test has sent: every value is unique to this run. */
function uniquePerson() {
  const birth = `19${50 + randomInt(50)}${String(1 + randomInt(12)).padStart(2, '0')}${String(1 + randomInt(28)).padStart(2, '0')}`;
  const first17 = `110105${birth}${digits(3)}`;
  return {
    family: `QX${letters(8)}`,
    given: `ZV${letters(7)}`,
    idCard: `${first17}${residentIdCheckChar(first17)}`,
    phone: `139${digits(8)}`,
    mrn: `ENC${digits(9)}`,
    controlId: `ENCCTL${digits(10)}`,
    birth,
  };
}

function adt(p: ReturnType<typeof uniquePerson>, event: string, controlId: string): string {
  return [
    `MSH|^~\\&|HIS|DEMO_HOSP|HUB|DEMO_HOSP|20261201083000+0800||ADT^${event}^ADT_A01|${controlId}|P|2.5||||||UNICODE UTF-8`,
    `EVN|${event}|20261201082955+0800`,
    `PID|1||${p.mrn}^^^DEMO_HOSP&2.16.840.1.113883.19.5&ISO^MR~${p.idCard}^^^CHN_NHC^NI||${p.family}^${p.given}^^^^^L||${p.birth}|F|||Xylo Road 42^^Beijing^BJ^100020^CN^H||^PRN^CP^^86^${p.phone.slice(0, 3)}^${p.phone.slice(3)}|||||||||||||||||N`,
    'PV1|1|I|WARD3^301^02^DEMO_HOSP||||D0012^LI^SI^^^DR^^^DEMO_HOSP|||MED||||7|||D0012^LI^SI^^^DR^^^DEMO_HOSP|IP|VN' + controlId + '^^^DEMO_HOSP^VN|||||||||||||||||||||||||20261201080000+0800',
  ].join('\r');
}

/** Files under the data directories holding `needle` (any case), read as bytes. */
function filesContaining(needle: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    // Kafka's offset and time indexes are preallocated (10 MB each, sparse) and hold only offsets
    // and timestamps; record contents are in the .log segments, which are searched
    execFile('grep', ['-rli', '--binary-files=text', '-F', '--exclude=*.index', '--exclude=*.timeindex', '-e', needle, ...DATA_DIRS], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout) => {
      // 1: nothing found; 2: also a file another test removed while grep walked the tree
      const code = (err as { code?: number } | null)?.code ?? 0;
      if (code !== 0 && code !== 1 && code !== 2) reject(err);
      else resolve(stdout.split('\n').filter(Boolean));
    });
  });
}

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { headers: { accept: 'application/fhir+json' } });
  return { status: res.status, body: (await res.json()) as T };
}

describe('encryption at rest: an admission over MLLP leaves no name, ID card number or phone in the data files', function () {
  this.timeout(120_000);
  const keyDir = mkdtempSync(path.join(tmpdir(), 'hub-enc-'));
  const keyFile = path.join(keyDir, 'keys.json');
  createKeyFile(keyFile);
  const hub = runningHub({ 'encryption.enabled': true, 'encryption.keyFile': keyFile });
  const person = uniquePerson();
  let client: MllpTestClient;

  before(async function () {
    if (!DATA_DIRS.every((d) => existsSync(d))) this.skip(); // servers of one's own (KAFKA_BROKERS/MONGO_URL elsewhere): nothing local to search
    client = await MllpTestClient.connect((hub.runtime.connectors[0] as MllpConnector).port!);
  });
  after(() => {
    client?.close();
    rmSync(keyDir, { recursive: true, force: true });
  });

  let sourceId = '';

  it('stores and matches the patient, and the API answers in clear, found by exact ID card number and name', async () => {
    expect(ackCode(await client.send(adt(person, 'A01', person.controlId)))).to.deep.equal({ code: 'AA', controlId: person.controlId });
    const api = hub.runtime.apiUrl();
    // the source record and its golden record, which the patient index made from it
    const found = await eventually(async () => {
      const b = (await getJson<Bundle>(`${api}/Patient?identifier=${person.idCard}`)).body;
      return (b.entry?.length ?? 0) >= 2 ? b : undefined;
    }, 60_000, 'the patient and its golden record');
    const patients = found.entry!.map((e) => e.resource as Patient);
    const golden = patients.find((p) => p.meta?.tag?.some((t) => t.code === 'GOLDEN_RECORD'));
    const source = patients.find((p) => p !== golden)!;
    expect(golden, 'golden record').to.not.equal(undefined);
    sourceId = source.id!;
    const { body: read } = await getJson<Patient>(`${api}/Patient/${sourceId}`);
    expect(read.name?.[0]).to.include({ family: person.family });
    expect(read.identifier?.map((i) => i.value)).to.include(person.idCard);
    expect(JSON.stringify(read.telecom)).to.contain(person.phone.slice(3));
    expect(golden!.name?.[0]?.family).to.equal(person.family);
    // a whole name part still finds the person; a prefix of it no longer does (keyed hashes match whole values)
    const byName = (await getJson<Bundle>(`${api}/Patient?family=${person.family.toLowerCase()}`)).body;
    expect(byName.entry?.map((e) => e.resource!.id)).to.include(sourceId);
    expect((await getJson<Bundle>(`${api}/Patient?family=${person.family.slice(0, 5)}`)).body.entry ?? []).to.have.length(0);
    // the patient index linked the source to its golden record
    expect(await hub.runtime.patientIndex!.goldenOf(sourceId)).to.equal(golden!.id);
    // what the pipeline kept of the message opens with the key
    const kept = await hub.db().collection('source_messages').findOne({ controlId: person.controlId });
    expect(kept?.rawSealed).to.equal(true);
    // the API's audit trail records each query (`identifier=<ID card number>`): sealed too
    const audits = await eventually(async () => {
      const docs = await hub.db().collection('AuditEvent').find({}).toArray();
      return docs.length >= 3 ? docs : undefined;
    }, 10_000, 'the audit events');
    expect(audits.every((d) => d.sealed !== undefined && d.resource === undefined)).to.equal(true);
  });

  it('dead-letters a refused message sealed; hub deadletter lists it and replays it sealed, and the pipeline opens the replay', async () => {
    const refusedId = `${person.controlId}R`;
    expect(ackCode(await client.send(adt(person, 'A99', refusedId))).code).to.equal('AR');
    const reader = new OpeningTopicReader(new KafkaTopicReader(hub.config.kafka.brokers), recordOpener(hub.runtime.protection!.recordSealer()));
    try {
      const out: string[] = [];
      await eventually(async () => {
        out.length = 0;
        await runDeadLetter(['list', '--json'], { config: hub.config, reader, out: (t) => out.push(t) });
        return out.some((l) => l.includes(refusedId)) ? true : undefined;
      }, 30_000, 'the dead letter');
      const entry = JSON.parse(out.find((l) => l.includes(refusedId))!) as { code: string; reason: string };
      expect(entry.code).to.equal('HL7_EVENT_UNSUPPORTED');
      expect(entry.reason).to.not.match(/^\[cannot decrypt/);
      let opened = '';
      for await (const record of reader.read(hub.config.kafka.topics.deadLetter)) opened += record.value.toString('utf8');
      expect(opened).to.contain(person.family);

      const sealer = hub.runtime.protection!.recordSealer();
      const producer = () => new SealingProducer(new KafkaProducer({ brokers: hub.config.kafka.brokers, clientId: 'enc-replay', deliveryTimeoutMs: 5000, maxQueuedMessages: 100 }, silentLogger()), sealer);
      const position = (JSON.parse(out.find((l) => l.includes(refusedId))!) as { partition: number; offset: number });
      expect(await runDeadLetter(['replay', '--position', `${position.partition}:${position.offset}`], { config: hub.config, reader, producer, out: () => undefined })).to.equal(0);
      // the pipeline opened the replayed record (sealed again on its way in) and refused it for its event, not for its encryption
      const again = await eventually(async () => {
        out.length = 0;
        await runDeadLetter(['list', '--json'], { config: hub.config, reader, out: (t) => out.push(t) });
        const replays = out.map((l) => JSON.parse(l) as { code: string; stage: string; replayOf?: string; controlId?: string }).filter((e) => e.replayOf && e.controlId === refusedId);
        return replays.length ? replays[0] : undefined;
      }, 30_000, 'the replayed record to be dead-lettered by the pipeline');
      expect(again.code).to.not.match(/^ENCRYPTION_/);
      expect(again.stage).to.not.equal('ingest');
    } finally {
      await reader.close();
    }
  });

  it('leaves none of them in the FerretDB data files (WAL included) or the Kafka logs, while clear metadata is there', async () => {
    // the control id is not patient data and is kept in clear (Kafka header, source_messages): the search sees the files
    for (const control of [person.controlId]) {
      const where = await filesContaining(control);
      expect(where.some((f) => f.startsWith(DATA_DIRS[0]!)), `${control} in the FerretDB files`).to.equal(true);
      expect(where.some((f) => f.startsWith(DATA_DIRS[1]!)), `${control} in the Kafka logs`).to.equal(true);
    }
    for (const secret of [person.family, person.given, person.idCard, person.phone, person.phone.slice(3), person.mrn]) {
      expect(await filesContaining(secret), secret).to.deep.equal([]);
    }
  });
});

import { expect } from 'chai';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Encounter, OperationOutcome, Patient } from 'fhir/r4.js';
import { KafkaTopicReader } from '../../../hub/bus/kafkaTopicReader.ts';
import { CONTENT_TYPES, envelopeHeaders } from '../../../hub/core/inboundEnvelope.ts';
import { PROJECT_ROOT } from '../../../hub/core/schemaValidator.ts';
import { DLQ_HEADERS } from '../../../hub/pipeline/deadLetter.ts';
import { eventually } from '../../support/testServices.ts';
import { runningHub } from '../../support/runningHub.ts';

const ADT = path.join(PROJECT_ROOT, 'test', 'fixtures', 'mapping', 'adt');
const fixture = (name: string) => readFileSync(path.join(ADT, name), 'utf8');

/** A fixture with another control id and event time (EVN-2 and MSH-7), as a resend or a later event would have. */
function variant(name: string, controlId: string, eventTime: string): string {
  return fixture(name)
    .replace(/^(MSH(?:\|[^|\r]*){8})\|[^|\r]*/m, `$1|${controlId}`)
    .replace(/^(EVN\|[^|\r]*)\|[^|\r]*/m, `$1|${eventTime}+0800`);
}

type Written = Array<{ reference: string; outcome: string }>;

describe('ADT event semantics through Kafka into FerretDB', function () {
  this.timeout(120_000);
  const { config, runtime, db } = runningHub({ connectors: [] }, { api: false, connectors: false });

  async function send(text: string): Promise<Written> {
    const controlId = /^MSH(?:\|[^|\r]*){8}\|([^|\r]*)/m.exec(text)![1]!;
    const headers = envelopeHeaders({
      connectorId: 'his-adt', sourceSystem: 'HIS', receivedAt: new Date().toISOString(), contentType: CONTENT_TYPES.hl7v2, controlId, raw: Buffer.alloc(0),
    });
    await runtime.producer!.publish({ topic: config.kafka.topics.hl7v2Inbound, key: 'HIS|MRN200345', value: Buffer.from(text), headers });
    const log = await eventually(async () => (
      await db().collection('source_messages').findOne({ controlId }) ?? undefined
    ), 30_000, `message ${controlId}`);
    expect(log.status, JSON.stringify(log.error ?? {})).to.equal('processed');
    return log.resources as Written;
  }

  const outcome = (w: Written, type: string) => w.find((x) => x.reference.startsWith(`${type}/`))!.outcome;
  const read = async <T>(w: Written, type: string) => {
    const [, id] = w.find((x) => x.reference.startsWith(`${type}/`))!.reference.split('/');
    return (await runtime.store!.read(type, id!)) as T;
  };

  it('admits (A01), then A08 updates the stored Patient in place', async () => {
    const admitted = await send(variant('adt-a01-admit.hl7', 'EV-01', '20261120093000'));
    expect(outcome(admitted, 'Patient')).to.equal('created');
    expect((await read<Encounter>(admitted, 'Encounter')).status).to.equal('in-progress');
    const updated = await send(variant('adt-a08-update.hl7', 'EV-08', '20261120145900'));
    expect(outcome(updated, 'Patient')).to.equal('updated');
    expect((await read<Patient>(updated, 'Patient')).address?.[0]?.line).to.deep.equal(['淮海中路100号']);
  });

  it('does not let an older message (by EVN-2) overwrite newer data: a late A01 is stale', async () => {
    const late = await send(variant('adt-a01-admit.hl7', 'EV-01-LATE', '20261120100000'));
    expect(outcome(late, 'Patient')).to.equal('stale');
    expect((await read<Patient>(late, 'Patient')).address?.[0]?.line).to.deep.equal(['淮海中路100号']);
  });

  it('A02 moves the Encounter, A12 cancels the transfer back to the first bed', async () => {
    const moved = await send(variant('adt-a02-transfer.hl7', 'EV-02', '20261121140000'));
    expect((await read<Encounter>(moved, 'Encounter')).location?.map((l) => [l.location.display, l.status])).to.deep.equal([
      ['CCU / 0103 / 02 / RENJI', 'active'], ['CARD / 0502 / 01 / RENJI', 'completed'],
    ]);
    const back = await send(variant('adt-a12-cancel-transfer.hl7', 'EV-12', '20261121145900'));
    const encounter = await read<Encounter>(back, 'Encounter');
    expect(encounter.status).to.equal('in-progress');
    expect(encounter.location?.map((l) => l.location.display)).to.deep.equal(['CARD / 0502 / 01 / RENJI']);
  });

  it('A03 closes the period, A13 reopens it, and a late A08 from before the discharge does not', async () => {
    const discharged = await send(variant('adt-a03-discharge.hl7', 'EV-03', '20261125100000'));
    let encounter = await read<Encounter>(discharged, 'Encounter');
    expect(encounter.status).to.equal('finished');
    expect(encounter.period).to.deep.equal({ start: '2026-11-20T09:30:00+08:00', end: '2026-11-25T09:55:00+08:00' });
    const lateUpdate = await send(variant('adt-a08-update.hl7', 'EV-08-LATE', '20261122120000'));
    expect(outcome(lateUpdate, 'Encounter')).to.equal('stale');
    expect((await read<Encounter>(lateUpdate, 'Encounter')).status).to.equal('finished');
    const reopened = await send(variant('adt-a13-cancel-discharge.hl7', 'EV-13', '20261125105900'));
    encounter = await read<Encounter>(reopened, 'Encounter');
    expect(encounter.status).to.equal('in-progress');
    expect(encounter.period).to.deep.equal({ start: '2026-11-20T09:30:00+08:00' });
  });

  it('A11 cancels the visit, and replaying the same A11 changes nothing', async () => {
    const cancelled = await send(variant('adt-a11-cancel-admit.hl7', 'EV-11', '20261126080000'));
    expect((await read<Encounter>(cancelled, 'Encounter')).status).to.equal('cancelled');
    const again = await send(variant('adt-a11-cancel-admit.hl7', 'EV-11-REPLAY', '20261126080000'));
    expect(again.map((w) => w.outcome)).to.satisfy((o: string[]) => o.every((x) => x === 'unchanged'));
  });

  it('keeps two patients with the same MRN at different assigning authorities apart', async () => {
    const other = variant('adt-a01-admit.hl7', 'EV-OTHER', '20261126090000')
      .replace('MRN200345^^^RENJI&2.16.840.1.113883.19.8&ISO^MR', 'MRN200345^^^HUASHAN&2.16.840.1.113883.19.9&ISO^MR');
    const written = await send(other);
    expect(outcome(written, 'Patient')).to.equal('created');
    const patients = await db().collection('Patient')
      // source records only: the patient index adds golden Patients that carry the same identifiers
      .find({ 'resource.identifier.value': 'MRN200345', 'resource.meta.tag.code': { $ne: 'GOLDEN_RECORD' } }).toArray();
    expect(patients.map((p) => (p.resource as Patient).identifier![0]!.system).sort()).to.deep.equal(['urn:oid:2.16.840.1.113883.19.8', 'urn:oid:2.16.840.1.113883.19.9']);
  });
});

describe('Invalid mapping output is dead-lettered with an OperationOutcome naming the path and mapping file', function () {
  this.timeout(120_000);
  // A site override that breaks Patient.gender: the base files stay untouched.
  const dir = mkdtempSync(path.join(tmpdir(), 'hub-mappings-'));
  cpSync(path.join(PROJECT_ROOT, 'mappings'), dir, { recursive: true });
  mkdirSync(path.join(dir, 'sites', 'broken', 'hl7v2', 'segments'), { recursive: true });
  writeFileSync(path.join(dir, 'sites', 'broken', 'hl7v2', 'segments', 'PID-Patient.yaml'), 'kind: part\nextends: base\nfields:\n  gender: {const: man}\n');
  const { config, runtime, db } = runningHub({ connectors: [], mappings: { dir, site: 'broken' } }, { api: false, connectors: false });
  const reader = new KafkaTopicReader(config.kafka.brokers);

  after(async () => {
    await reader.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores nothing and dead-letters the message at the validate stage', async () => {
    const text = variant('adt-a01-admit.hl7', 'BROKEN-1', '20261120093000');
    const headers = envelopeHeaders({ connectorId: 'his-adt', sourceSystem: 'HIS', receivedAt: new Date().toISOString(), contentType: CONTENT_TYPES.hl7v2, controlId: 'BROKEN-1', raw: Buffer.alloc(0) });
    await runtime.producer!.publish({ topic: config.kafka.topics.hl7v2Inbound, value: Buffer.from(text), headers });
    const log = await eventually(async () => (await db().collection('source_messages').findOne({ controlId: 'BROKEN-1' })) ?? undefined, 30_000, 'source message');
    expect(log.status).to.equal('dead-lettered');
    expect(log.error.code).to.equal('FHIR_RESOURCE_INVALID');
    expect(await db().collection('Encounter').countDocuments()).to.equal(0);

    const dead = await eventually(async () => {
      for await (const r of reader.read(config.kafka.topics.deadLetter)) if (r.headers[DLQ_HEADERS.stage] === 'validate') return r;
      return undefined;
    }, 30_000, 'dead-letter record');
    const outcomeResource = JSON.parse(dead.headers[DLQ_HEADERS.outcome]!) as OperationOutcome;
    const issue = outcomeResource.issue[0]!;
    expect(issue.code).to.equal('invalid');
    expect(issue.expression).to.deep.equal(['Patient.gender']);
    expect(issue.diagnostics).to.contain('hl7v2/messages/ADT_A01.yaml').and.to.contain('Patient.gender').and.to.contain('must be one of');
  });
});

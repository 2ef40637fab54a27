import { expect } from 'chai';
import type { Appointment, DiagnosticReport, Observation } from 'fhir/r4.js';
import { CONTENT_TYPES, envelopeHeaders } from '../../../hub/core/inboundEnvelope.ts';
import { fixtureText } from './fhirGolden.ts';
import { eventually } from '../../support/testServices.ts';
import { runningHub } from '../../support/runningHub.ts';

/** A small ORU^R01 whose result status and message time vary, as a LIS sends prelim then final. */
function oru(controlId: string, messageTime: string, status: 'P' | 'F', value: string): string {
  return [
    `MSH|^~\\&|LIS|DEMO_HOSP|HUB|DEMO_HOSP|${messageTime}||ORU^R01^ORU_R01|${controlId}|P|2.5.1`,
    'PID|1||MRN100001^^^DEMO_HOSP&2.16.840.1.113883.19.5&ISO^MR||张^三||19900307|M',
    'ORC|RE|PL-500^HIS|FL-500^LIS',
    `OBR|1|PL-500^HIS|FL-500^LIS|2345-7^Glucose^LN|||20261123070000+0800||||||||||||||20261123080000+0800||CH|${status}`,
    `OBX|1|NM|2345-7^Glucose^LN||${value}|mmol/L|3.9-6.1|${Number(value) > 6.1 ? 'H' : 'N'}|||${status}|||20261123070000+0800`,
  ].join('\r');
}

describe('LIS results and appointments through Kafka into FerretDB: updates and out-of-order messages', function () {
  this.timeout(90_000);
  const { config, runtime, db } = runningHub({ connectors: [] }, { api: false, connectors: false });

  async function send(text: string, controlId: string, sourceSystem = 'LIS'): Promise<Array<{ reference: string; outcome: string }>> {
    const headers = envelopeHeaders({
      connectorId: `${sourceSystem.toLowerCase()}-feed`, sourceSystem, receivedAt: new Date().toISOString(), contentType: CONTENT_TYPES.hl7v2,
      controlId, raw: Buffer.alloc(0),
    });
    await runtime.producer!.publish({ topic: config.kafka.topics.hl7v2Inbound, key: `${sourceSystem}|MRN100001`, value: Buffer.from(text), headers });
    const log = await eventually(async () => (
      await db().collection('source_messages').findOne({ controlId }) ?? undefined
    ), 30_000, `message ${controlId}`);
    expect(log.status, JSON.stringify(log.error ?? {})).to.equal('processed');
    return log.resources as Array<{ reference: string; outcome: string }>;
  }

  const idOf = (written: Array<{ reference: string }>, type: string) => written.find((w) => w.reference.startsWith(`${type}/`))!.reference.split('/')[1]!;

  it('updates the preliminary result in place when the final arrives', async () => {
    const prelim = await send(oru('LAB-1', '20261123080000+0800', 'P', '5.8'), 'LAB-1');
    const final = await send(oru('LAB-2', '20261123090000+0800', 'F', '7.2'), 'LAB-2');
    expect(idOf(final, 'Observation')).to.equal(idOf(prelim, 'Observation'));
    expect(final.find((w) => w.reference.startsWith('Observation/'))!.outcome).to.equal('updated');
    const observation = (await runtime.store!.read('Observation', idOf(final, 'Observation'))) as Observation;
    expect(observation.status).to.equal('final');
    expect(observation.valueQuantity!.value).to.equal(7.2);
    const report = (await runtime.store!.read('DiagnosticReport', idOf(final, 'DiagnosticReport'))) as DiagnosticReport;
    expect(report.result).to.deep.equal([{ reference: `Observation/${observation.id}` }]);
  });

  it('does not let a late preliminary (older MSH-7) overwrite the stored final', async () => {
    const late = await send(oru('LAB-3', '20261123083000+0800', 'P', '6.0'), 'LAB-3');
    expect(late.find((w) => w.reference.startsWith('Observation/'))!.outcome).to.equal('stale');
    const observation = (await runtime.store!.read('Observation', idOf(late, 'Observation'))) as Observation;
    expect(observation.status).to.equal('final');
    expect(observation.valueQuantity!.value).to.equal(7.2);
  });

  it('cancels a stored appointment with SIU^S15 and keeps it cancelled when an older S14 arrives late', async () => {
    const booked = await send(fixtureText('siu', 'SIU-S12-02.hl7'), 'MSG00012', 'SCHED');
    await send(fixtureText('siu', 'SIU-S15-02.hl7'), 'MSG00015', 'SCHED');
    const late = await send(fixtureText('siu', 'SIU-S14-02.hl7'), 'MSG00014', 'SCHED');
    expect(late.find((w) => w.reference.startsWith('Appointment/'))!.outcome).to.equal('stale');
    const appointment = (await runtime.store!.read('Appointment', idOf(booked, 'Appointment'))) as Appointment;
    expect(appointment.status).to.equal('cancelled');
  });
});

import { expect } from 'chai';
import type { Appointment } from 'fhir/r4.js';
import { expectGolden, fixtureText, mapText, resourcesOf } from './fhirGolden.ts';

const appointmentOf = (name: string) => {
  const out = mapText(fixtureText('siu', name), 'SCHED');
  return { out, appointment: resourcesOf<Appointment>(out, 'Appointment')[0]! };
};

describe('SIU^S12-S15 mapping to Appointment', () => {
  for (const name of ['SIU-S12-02.hl7', 'SIU-S13-02.hl7', 'SIU-S14-02.hl7', 'SIU-S15-02.hl7']) {
    it(`maps ${name} to a Patient and one Appointment (golden)`, () => {
      const { out } = appointmentOf(name);
      expectGolden('siu', name, out);
      expect(out.resources.map((r) => r.resource.resourceType)).to.deep.equal(['Patient', 'Appointment']);
    });
  }

  it('books (S12), reschedules (S13), modifies (S14) and cancels (S15) the same Appointment', () => {
    const [booked, rescheduled, modified, cancelled] = ['SIU-S12-02.hl7', 'SIU-S13-02.hl7', 'SIU-S14-02.hl7', 'SIU-S15-02.hl7'].map((n) => appointmentOf(n).appointment);
    expect(new Set([booked, rescheduled, modified, cancelled].map((a) => a!.id)).size).to.equal(1);
    expect([booked, rescheduled, modified, cancelled].map((a) => a!.status)).to.deep.equal(['booked', 'booked', 'booked', 'cancelled']);
    expect(booked!.start).to.equal('2021-08-18T11:30:00+02:15');
    expect(rescheduled!.start).to.equal('2021-08-20T11:30:00+02:15');
    expect(rescheduled!.end).to.equal('2021-08-20T12:30:00+02:15');
    expect(cancelled!.participant.every((p) => p.status === 'declined')).to.equal(true);
    expect(booked!.participant.every((p) => p.status === 'accepted')).to.equal(true);
  });

  it('lists the patient, people (AIP), rooms (AIL) and equipment (AIG) as participants and services from AIS', () => {
    const { out, appointment } = appointmentOf('SIU-S12-02.hl7');
    const patient = out.resources[0]!.resource;
    expect(appointment.participant[0]).to.deep.equal({ actor: { reference: `Patient/${patient.id}` }, required: 'required', status: 'accepted' });
    expect(appointment.participant.filter((p) => p.actor?.type === 'Location').map((p) => p.actor!.display)).to.deep.equal([
      'LabUnit101 / Lab Room 01 / GHH Hospital', 'DiagnosticUnit201 / Imaging Room 01 / GHH Hospital', 'OPD12 / Room 55 / GHH Hospital',
    ]);
    expect(appointment.participant.find((p) => p.actor?.identifier?.value === '600')!.type![0]!.text).to.equal('General Practitioner');
    expect(appointment.serviceType!.map((s) => s.coding![0]!.code)).to.deep.equal(['58410-2', '42272-5']);
    expect(appointment.minutesDuration).to.equal(70);
    expect(appointment.comment).to.equal('Appointment for annual checkup');
  });

  it('takes the status from the filler status code (SCH-25) when the event does not force one', () => {
    const original = fixtureText('siu', 'SIU-S14-02.hl7');
    const completed = original.replace(/^(SCH(?:\|[^|\r\n]*){24})\|Booked/m, '$1|Complete');
    expect(completed).to.not.equal(original);
    expect(resourcesOf<Appointment>(mapText(completed, 'SCHED'), 'Appointment')[0]!.status).to.equal('fulfilled');
    const cancelledByEvent = completed.replace('SIU^S14^SIU_S14', 'SIU^S15^SIU_S15');
    expect(resourcesOf<Appointment>(mapText(cancelledByEvent, 'SCHED'), 'Appointment')[0]!.status).to.equal('cancelled');
  });
});

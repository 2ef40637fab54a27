import { expect } from 'chai';
import type { Immunization } from 'fhir/r4.js';
import { expectGolden, fixtureText, mapText, resourcesOf } from './fhirGolden.ts';

describe('VXU^V04 mapping to Immunization', () => {
  it('maps the third-party VXU^V04 to Patient, Encounter and one Immunization (golden)', () => {
    const out = mapText(fixtureText('vxu', 'VXU-V04-01.hl7'), 'IIS');
    expectGolden('vxu', 'VXU-V04-01.hl7', out);
    expect(out.resources.map((r) => r.resource.resourceType)).to.deep.equal(['Patient', 'Encounter', 'Immunization']);
  });

  it('keeps vaccine, date, dose in UCUM, lot, manufacturer (MVX), route, site, performers and funding', () => {
    const [imm] = resourcesOf<Immunization>(mapText(fixtureText('vxu', 'VXU-V04-01.hl7'), 'IIS'), 'Immunization');
    expect(imm!.status).to.equal('completed');
    expect(imm!.vaccineCode.coding![0]).to.deep.equal({ system: 'http://hl7.org/fhir/sid/ndc', code: '49281021588', display: 'TENIVAC' });
    expect(imm!.occurrenceDateTime).to.equal('2021-08-18');
    expect(imm!.primarySource).to.equal(true);
    expect(imm!.doseQuantity).to.deep.equal({ value: 0.5, unit: 'mL', system: 'http://unitsofmeasure.org', code: 'mL' });
    expect(imm!.lotNumber).to.equal('315841');
    expect(imm!.expirationDate).to.equal('2021-12-16');
    expect(imm!.manufacturer).to.deep.equal({ identifier: { system: 'http://hl7.org/fhir/sid/mvx', value: 'PMC' }, display: 'Sanofi Pasteur' });
    expect(imm!.site!.coding![0]!.code).to.equal('RD');
    expect(imm!.route!.coding![0]!.code).to.equal('C28161');
    expect(imm!.performer!.map((p) => p.function!.coding![0]!.code)).to.deep.equal(['AP', 'OP']);
    expect(imm!.fundingSource!.coding![0]!.code).to.equal('PHC70');
    expect(imm!.programEligibility![0]!.coding![0]!.code).to.equal('V01');
  });

  it('records a refusal (RXA-20 RE) as not-done with its reason and a deletion (RXA-21 D) as entered-in-error', () => {
    const text = fixtureText('vxu', 'VXU-V04-01.hl7');
    const rxa = text.split(/\r?\n|\r/).find((l) => l.startsWith('RXA|'))!;
    const fields = rxa.split('|');
    const refused = [...fields];
    refused[18] = '00^Parental decision^NIP002';
    refused[20] = 'RE';
    const [notDone] = resourcesOf<Immunization>(mapText(text.replace(rxa, refused.join('|')), 'IIS'), 'Immunization');
    expect(notDone!.status).to.equal('not-done');
    expect(notDone!.statusReason!.coding![0]!.display).to.equal('Parental decision');
    const deleted = [...fields];
    deleted[21] = 'D';
    expect(resourcesOf<Immunization>(mapText(text.replace(rxa, deleted.join('|')), 'IIS'), 'Immunization')[0]!.status).to.equal('entered-in-error');
  });

  it('gives the immunization the same id on a resend, keyed by the registry id (ORC-3)', () => {
    const text = fixtureText('vxu', 'VXU-V04-01.hl7');
    const a = resourcesOf<Immunization>(mapText(text, 'IIS'), 'Immunization')[0]!.id;
    const b = resourcesOf<Immunization>(mapText(text.replace('MSG00001', 'MSG00002'), 'IIS'), 'Immunization')[0]!.id;
    const other = resourcesOf<Immunization>(mapText(text.replace('13696^NIST-AA-IZ-2', '13697^NIST-AA-IZ-2'), 'IIS'), 'Immunization')[0]!.id;
    expect(a).to.equal(b);
    expect(a).to.not.equal(other);
  });
});

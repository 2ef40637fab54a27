import { expect } from 'chai';
import type { DocumentReference, Patient } from 'fhir/r4.js';
import { expectGolden, fixtureText, mapText, resourcesOf } from './fhirGolden.ts';

describe('MDM^T02 mapping to DocumentReference', () => {
  it('maps the third-party MDM^T02 to Patient, Encounter and a DocumentReference (golden)', () => {
    const out = mapText(fixtureText('mdm', 'MDM-T02-02.hl7'), 'HIS');
    expectGolden('mdm', 'MDM-T02-02.hl7', out);
    expect(out.resources.map((r) => r.resource.resourceType)).to.deep.equal(['Patient', 'Encounter', 'DocumentReference']);
  });

  it('keeps the document number, status, type, authors, order link and the text body as an attachment', () => {
    const out = mapText(fixtureText('mdm', 'MDM-T02-02.hl7'), 'HIS');
    const [doc] = resourcesOf<DocumentReference>(out, 'DocumentReference');
    const [patient] = resourcesOf<Patient>(out, 'Patient');
    expect(doc!.masterIdentifier).to.deep.equal({ value: '1.2.840.317.5947431.51.20080131160038' });
    expect(doc!.status).to.equal('current');
    expect(doc!.docStatus).to.equal('final');
    expect(doc!.type!.coding![0]).to.deep.equal({ system: 'http://terminology.hl7.org/CodeSystem/v2-0270', code: 'DI' });
    expect(doc!.subject).to.deep.equal({ reference: `Patient/${patient!.id}` });
    expect(doc!.authenticator).to.deep.equal({ identifier: { value: '54321' }, display: 'Ivan Doctorovich' });
    expect(doc!.date).to.equal('2008-01-31T16:00:00+02:15');
    expect(doc!.context!.related![0]!.identifier!.value).to.equal('00012345');
    const attachment = doc!.content[0]!.attachment;
    expect(attachment.contentType).to.equal('text/plain');
    expect(Buffer.from(attachment.data!, 'base64').toString('utf8')).to.equal(
      'Toilet cylinder crackers model step-mother visor opening communication\nColumnist draft inn brown income ikebana circulation prince');
  });

  it('updates the same DocumentReference on an edit (T08) and marks it entered-in-error on a cancel (T11)', () => {
    const original = fixtureText('mdm', 'MDM-T02-02.hl7');
    const first = resourcesOf<DocumentReference>(mapText(original, 'HIS'), 'DocumentReference')[0]!;
    const edited = resourcesOf<DocumentReference>(mapText(original.replace('MDM^T02^MDM_T02', 'MDM^T08^MDM_T02').replace('Toilet cylinder', 'Corrected cylinder'), 'HIS'), 'DocumentReference')[0]!;
    const cancelled = resourcesOf<DocumentReference>(mapText(original.replace('MDM^T02^MDM_T02', 'MDM^T11^MDM_T01'), 'HIS'), 'DocumentReference')[0]!;
    expect(edited.id).to.equal(first.id);
    expect(cancelled.id).to.equal(first.id);
    expect(Buffer.from(edited.content[0]!.attachment.data!, 'base64').toString('utf8')).to.match(/^Corrected cylinder/);
    expect(cancelled.status).to.equal('entered-in-error');
  });

  it('maps an addendum (T06) to its own DocumentReference that appends the parent document (golden)', () => {
    const out = mapText(fixtureText('mdm', 'MDM-T06-01.hl7'), 'HIS');
    expectGolden('mdm', 'MDM-T06-01.hl7', out);
    const [addendum] = resourcesOf<DocumentReference>(out, 'DocumentReference');
    expect(addendum!.relatesTo).to.deep.equal([{ code: 'appends', target: { identifier: { value: '1.2.840.317.5947431.51.20080131155715' } } }]);
  });

  it('carries an encapsulated PDF (OBX type ED) as its own attachment', () => {
    const pdf = Buffer.from('%PDF-1.4 minimal').toString('base64');
    const text = fixtureText('mdm', 'MDM-T02-02.hl7').replace(/OBX\|2\|TX\|[^\r\n]*/, `OBX|2|ED|PDF^Report^L|1|^AP^PDF^Base64^${pdf}||||||F`);
    const [doc] = resourcesOf<DocumentReference>(mapText(text, 'HIS'), 'DocumentReference');
    expect(doc!.content.map((c) => c.attachment.contentType)).to.deep.equal(['text/plain', 'application/pdf']);
    expect(doc!.content[1]!.attachment.data).to.equal(pdf);
  });
});

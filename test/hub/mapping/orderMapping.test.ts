import { expect } from 'chai';
import type { ImagingStudy, ServiceRequest, Specimen } from 'fhir/r4.js';
import { expectGolden, fixtureText, mapText, resourcesOf } from './fhirGolden.ts';

const requestsOf = (text: string, sourceSystem = 'HIS') => resourcesOf<ServiceRequest>(mapText(text, sourceSystem), 'ServiceRequest');

describe('order mappings (OML^O21, ORM^O01, OMI^O23 to ServiceRequest)', () => {
  it('maps the OML^O21 lab order to a ServiceRequest with its Specimen, reason and requester (golden)', () => {
    const out = mapText(fixtureText('lis', 'OML-O21-01.hl7'), 'HIS');
    expectGolden('lis', 'OML-O21-01.hl7', out);
    const [request] = resourcesOf<ServiceRequest>(out, 'ServiceRequest');
    const [specimen] = resourcesOf<Specimen>(out, 'Specimen');
    expect(request!.status).to.equal('active');
    expect(request!.intent).to.equal('order');
    expect(request!.code!.coding![0]).to.deep.equal({ system: 'http://loinc.org', code: '57698-3', display: 'Lipid panel with direct LDL - Serum or Plasma' });
    expect(request!.identifier!.map((i) => [i.type!.coding![0]!.code, i.value])).to.deep.equal([['PLAC', '1101'], ['FILL', '1201']]);
    expect(request!.specimen).to.deep.equal([{ reference: `Specimen/${specimen!.id}` }]);
    expect(request!.reasonCode![0]!.coding![0]).to.include({ system: 'http://hl7.org/fhir/sid/icd-10', code: 'E10.9' });
    expect(request!.requester).to.deep.equal({ identifier: { value: '3850' }, display: 'JONES ORDPROVIDER' });
    expect(specimen!.identifier!.find((i) => i.type!.coding![0]!.code === 'FILL')).to.include({ system: 'urn:oid:2.16.840.1.114222.4.3.3.5.1.2', value: '2012999999' });
  });

  it('maps the third-party ORM^O01 samples, skipping an ORC that has no OBR (golden)', () => {
    const ct = mapText(fixtureText('lis', 'ORM-O01-02.hl7'), 'HIS');
    expectGolden('lis', 'ORM-O01-02.hl7', ct);
    expect(resourcesOf<ServiceRequest>(ct, 'ServiceRequest')[0]!.code!.coding![0]!.code).to.equal('24725-4');
    const diet = mapText(fixtureText('lis', 'ORM-O01-04.hl7'), 'HIS');
    expectGolden('lis', 'ORM-O01-04.hl7', diet);
    expect(resourcesOf<ServiceRequest>(diet, 'ServiceRequest')).to.deep.equal([]);
  });

  it('maps a radiology ORM^O01 with imaging category, stat priority, scheduled time, reason and note (golden)', () => {
    const out = mapText(fixtureText('pacs', 'orm-o01-ct-new.hl7'), 'HIS');
    expectGolden('pacs', 'orm-o01-ct-new.hl7', out);
    const [request] = resourcesOf<ServiceRequest>(out, 'ServiceRequest');
    expect(request!.category![0]!.coding![0]!.code).to.equal('CT');
    expect(request!.priority).to.equal('stat');
    expect(request!.occurrenceDateTime).to.equal('2026-11-23T10:30:00+08:00');
    expect(request!.requisition).to.deep.equal({ system: 'urn:hub:identifier/HIS', value: 'GRP-5' });
    expect(request!.reasonCode![0]!.coding![0]!.code).to.equal('R51');
    expect(request!.note).to.deep.equal([{ text: 'Patient is claustrophobic' }]);
  });

  it('revokes the same ServiceRequest when the order is cancelled (ORC-1 CA), keeping its id', () => {
    const [created] = requestsOf(fixtureText('pacs', 'orm-o01-ct-new.hl7'));
    const cancelOut = mapText(fixtureText('pacs', 'orm-o01-ct-cancel.hl7'), 'HIS');
    const [cancelled] = resourcesOf<ServiceRequest>(cancelOut, 'ServiceRequest');
    expect(cancelled!.id).to.equal(created!.id);
    expect(created!.status).to.equal('active');
    expect(cancelled!.status).to.equal('revoked');
    expect(cancelOut.eventTime).to.equal('2026-11-23T01:50:00.000Z');
  });

  it('maps OMI^O23 with the accession number and study instance UID from IPC as identifiers (golden)', () => {
    const out = mapText(fixtureText('pacs', 'omi-o23-mr-brain.hl7'), 'HIS');
    expectGolden('pacs', 'omi-o23-mr-brain.hl7', out);
    const [request] = resourcesOf<ServiceRequest>(out, 'ServiceRequest');
    expect(request!.identifier).to.deep.include({ system: 'urn:dicom:uid', value: 'urn:oid:1.2.840.113619.2.55.3.11.22' });
    expect(request!.identifier!.find((i) => i.type?.coding?.[0]?.code === 'ACSN')!.value).to.equal('ACC-2026-0044');
    expect(request!.orderDetail![0]!.coding![0]!.code).to.equal('MR');
    expect(request!.priority).to.equal('stat');
    expect(request!.category!.some((c) => c.coding![0]!.code === '363679005')).to.equal(true);
  });

  it('registers the ImagingStudy of an OMI^O23 under the id its later ORU^R01 report will use', () => {
    const [study] = resourcesOf<ImagingStudy>(mapText(fixtureText('pacs', 'omi-o23-mr-brain.hl7'), 'HIS'), 'ImagingStudy');
    expect(study!.status).to.equal('registered');
    expect(study!.modality).to.deep.equal([{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'MR', display: 'Magnetic Resonance' }]);
    const report = fixtureText('pacs', 'oru-r01-chest-xray-zds.hl7').replace('1.2.840.113619.2.55.3.604688119.969.1268071029.320', '1.2.840.113619.2.55.3.11.22');
    const [reported] = resourcesOf<ImagingStudy>(mapText(report, 'PACS'), 'ImagingStudy');
    expect(reported!.id).to.equal(study!.id);
    expect(reported!.status).to.equal('available');
  });

  it('registers the ImagingStudy when a RIS order carries the study UID in ZDS', () => {
    const withZds = `${fixtureText('pacs', 'orm-o01-ct-new.hl7').trimEnd()}\rZDS|1.2.840.113619.2.55.3.99.1^RIS^Application^DICOM\r`;
    const out = mapText(withZds, 'RIS');
    const [study] = resourcesOf<ImagingStudy>(out, 'ImagingStudy');
    expect(study!.status).to.equal('registered');
    expect(study!.identifier![0]!.value).to.equal('urn:oid:1.2.840.113619.2.55.3.99.1');
    expect(study!.started).to.equal('2026-11-23T10:30:00+08:00');
    expect(resourcesOf<ImagingStudy>(mapText(fixtureText('pacs', 'orm-o01-ct-new.hl7'), 'RIS'), 'ImagingStudy')).to.deep.equal([]);
  });

  describe('collision-safe ids', () => {
    const base = fixtureText('pacs', 'orm-o01-ct-new.hl7');
    const idOf = (text: string, sourceSystem = 'HIS') => requestsOf(text, sourceSystem)[0]!.id;

    it('keeps apart two orders sharing a placer number from different placer authorities', () => {
      expect(idOf(base.replaceAll('RAD-PL-78^HIS', 'RAD-PL-78^CLINIC2'))).to.not.equal(idOf(base));
    });

    it('keeps apart two orders sharing a placer number in different placer groups (ORC-4)', () => {
      expect(idOf(base.replace('GRP-5^HIS', 'GRP-6^HIS'))).to.not.equal(idOf(base));
    });

    it('keeps apart two OBRs sharing a placer number in one message when they order different services', () => {
      const twoObr = base.replace(/(OBR\|[^\r]*\r)/, (obr) => `${obr}${obr.replace('CTHEAD^CT Head without contrast^L', 'CTCHEST^CT Chest^L')}`);
      const requests = requestsOf(twoObr);
      expect(requests.map((r) => r.code!.coding![0]!.code)).to.deep.equal(['CTHEAD', 'CTCHEST']);
      expect(requests[0]!.id).to.not.equal(requests[1]!.id);
      // both keep the order's placer number as their identifier
      expect(requests.map((r) => r.identifier![0]!.value)).to.deep.equal(['RAD-PL-78', 'RAD-PL-78']);
    });

    it('keeps apart the same placer number sent by two source systems', () => {
      expect(idOf(base, 'HIS')).to.not.equal(idOf(base, 'CLINIC'));
    });
  });
});

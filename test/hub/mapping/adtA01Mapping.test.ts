import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Encounter, Patient } from 'fhir/r4.js';
import { PROJECT_ROOT } from '../../../hub/core/schemaValidator.ts';
import { parseHl7 } from '../../../hub/hl7v2/hl7Parser.ts';
import { mapHl7Message } from '../../../hub/mapping/mappingEngine.ts';
import { readMappings } from '../../../hub/mapping/mappingLoader.ts';

const SETTINGS = { timeZone: 'Asia/Shanghai', identifierSystemBase: 'urn:hub:identifier' };
const ORIGIN = { sourceSystem: 'HIS', connectorId: 'his-adt', receivedAt: '2026-11-23T00:00:00.000Z' };

function example(name: string): string {
  return readFileSync(path.join(PROJECT_ROOT, 'examples', name), 'utf8');
}

describe('ADT_A01 mapping', () => {
  const { registry, problems } = readMappings(path.join(PROJECT_ROOT, 'mappings'));

  it('loads every shipped mapping file without problems', () => {
    expect(problems).to.deep.equal([]);
  });

  function mapExample(name: string, sourceSystem = 'HIS') {
    const out = mapHl7Message(parseHl7(example(name)), { ...ORIGIN, sourceSystem }, registry, SETTINGS);
    const patient = out.resources.find((r) => r.resource.resourceType === 'Patient')!.resource as Patient;
    const encounter = out.resources.find((r) => r.resource.resourceType === 'Encounter')!.resource as Encounter;
    return { out, patient, encounter };
  }

  it('maps PID to a Patient with identifiers, names in characters and pinyin, sex, birth date and address', () => {
    const { patient } = mapExample('adt-a01-zhang-san.hl7');
    expect(patient.identifier).to.deep.include({
      use: 'usual',
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] },
      system: 'urn:oid:2.16.840.1.113883.19.5',
      value: 'MRN100001',
      assigner: { display: 'DEMO_HOSP' },
    });
    expect(patient.identifier?.find((i) => i.type?.coding?.[0]?.code === 'NI')?.value).to.equal('110101199003077774');
    expect(patient.name).to.deep.equal([
      { use: 'official', family: '张', given: ['三'] },
      { use: 'nickname', family: 'ZHANG', given: ['SAN'] },
    ]);
    expect(patient.gender).to.equal('male');
    expect(patient.birthDate).to.equal('1990-03-07');
    expect(patient.address?.[0]).to.include({ use: 'home', city: '北京', postalCode: '100020', country: 'CN' });
    expect(patient.telecom?.[0]).to.deep.equal({ system: 'phone', value: '8613800138000', use: 'home' });
  });

  it('maps PV1 to an in-progress inpatient Encounter that references the Patient', () => {
    const { patient, encounter } = mapExample('adt-a01-zhang-san.hl7');
    expect(encounter.status).to.equal('in-progress');
    expect(encounter.class).to.deep.equal({ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP', display: 'inpatient encounter' });
    expect(encounter.subject).to.deep.equal({ reference: `Patient/${patient.id}` });
    expect(encounter.period).to.deep.equal({ start: '2026-11-23T08:00:00+08:00' });
    expect(encounter.identifier?.[0]?.value).to.equal('VN20261123001');
    expect(encounter.participant?.[0]?.individual?.display).to.equal('DR SI LI');
    expect(encounter.location?.[0]?.location.display).to.equal('WARD3 / 301 / 02 / DEMO_HOSP');
  });

  it('gives the same ids when the same message is mapped twice', () => {
    const a = mapExample('adt-a01-zhang-san.hl7').out.resources.map((r) => r.resource.id);
    const b = mapExample('adt-a01-zhang-san.hl7').out.resources.map((r) => r.resource.id);
    expect(a).to.deep.equal(b);
  });

  it('gives different ids to the same MRN from another source system', () => {
    expect(mapExample('adt-a01-zhang-san.hl7', 'HIS').patient.id).to.not.equal(mapExample('adt-a01-zhang-san.hl7', 'LIS').patient.id);
  });

  it('gives different ids to equal MRNs issued by different assigning authorities', () => {
    const other = example('adt-a01-zhang-san.hl7').replace('MRN100001^^^DEMO_HOSP&2.16.840.1.113883.19.5&ISO', 'MRN100001^^^OTHER_HOSP&2.16.840.1.113883.19.9&ISO');
    const a = mapExample('adt-a01-zhang-san.hl7').patient.id;
    const b = mapHl7Message(parseHl7(other), ORIGIN, registry, SETTINGS).resources[0]!.resource.id;
    expect(a).to.not.equal(b);
  });

  it('records lineage: the source message in meta.source and the mapping version as a tag', () => {
    const { patient } = mapExample('adt-a01-zhang-san.hl7');
    expect(patient.meta?.source).to.equal('urn:hub:identifier/source/HIS#HIS000001');
    expect(patient.meta?.tag).to.deep.equal([{ system: 'urn:hub:mapping', code: 'hl7v2/messages/ADT_A01', version: '2' }]);
  });

  it('reads the event time from EVN-2 with its offset', () => {
    expect(mapExample('adt-a01-zhang-san.hl7').out.eventTime).to.equal('2026-11-23T00:29:55.000Z');
  });

  it('maps the third-party FHIR-Converter ADT^A01 sample with its patient and encounter values', () => {
    const text = readFileSync(path.join(PROJECT_ROOT, '..', 'shared', 'data', 'hl7v2', 'fhir-converter', 'messages', 'ADT-A01-01.hl7'), 'utf8');
    const out = mapHl7Message(parseHl7(text), ORIGIN, registry, SETTINGS);
    const patient = out.resources[0]!.resource as Patient;
    expect(patient.name?.[0]).to.include({ family: 'EVERYMAN' });
    expect(patient.name?.[0]?.given).to.deep.equal(['ADAM', 'A']);
    expect(patient.birthDate).to.equal('1988-08-18');
    expect(patient.gender).to.equal('male');
    expect(patient.identifier?.map((i) => i.value)).to.include.members(['PATID1234', '123456789', '1234567']);
    const encounter = out.resources.find((r) => r.resource.resourceType === 'Encounter')!.resource as Encounter;
    expect(encounter.class.code).to.equal('PRENC');
    expect(encounter.period?.start).to.equal('2015-02-08T11:34:19+01:10');
  });
});

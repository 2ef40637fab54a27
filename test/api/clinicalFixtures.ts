import type { Patient } from 'fhir/r4.js';
import type { PatientIndexReader } from '../../hub/mpi/patientIndexReader.ts';
import type { StoredResource } from '../../hub/store/resourceStore.ts';

/**
 * A small hospital's worth of records shaped like the hub's mappings produce them: source
 * Patients from HIS and LIS, admissions to two wards, lab results, imaging, orders,
 * appointments, problems and allergies.
 */
const MRN = 'urn:oid:2.16.840.1.113883.19.5';
const LIS = 'urn:hub:identifier/LIS/mrn';
const LOINC = 'http://loinc.org';
const ACT = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';

type R = StoredResource & Record<string, unknown>;

function patient(id: string, mrn: string, family: string, given: string[], birthDate: string, gender: string, extra: Record<string, unknown> = {}): R {
  return {
    resourceType: 'Patient', id,
    identifier: [{ use: 'usual', system: MRN, value: mrn }],
    name: [{ use: 'official', family, given }],
    gender, birthDate, ...extra,
  } as R;
}

export const PATIENTS: R[] = [
  patient('p-zhang', 'MRN100001', '张', ['三'], '1990-03-07', 'male', {
    telecom: [{ system: 'phone', value: '13800138000', use: 'mobile' }, { system: 'email', value: 'zhang.san@example.cn' }],
    address: [{ use: 'home', line: ['人民路 1 号'], city: 'Shanghai', postalCode: '200001' }],
    generalPractitioner: [{ reference: 'Practitioner/dr-li' }],
  }),
  patient('p-duck', 'MRN100002', 'Duck', ['Donald', 'D'], '1954-10-10', 'male', {
    telecom: [{ system: 'phone', value: '8885551212' }],
    address: [{ line: ['111 Duck St'], city: 'Fowl', state: 'CA', postalCode: '99999' }],
  }),
  patient('p-muller', 'MRN100003', 'Müller', ['Anna'], '1985-06', 'female', {
    telecom: [{ system: 'email', value: 'anna.mueller@example.de' }],
    address: [{ city: 'Berlin', postalCode: '10115' }],
    generalPractitioner: [{ reference: 'Practitioner/dr-weber' }],
  }),
  patient('p-duckling', 'MRN100004', 'Duckworth', ['Daisy'], '2001-01-31', 'female', {
    address: [{ city: 'Fowl', postalCode: '99999' }],
  }),
  // the same person as p-zhang, as the lab knows him
  { ...patient('p-zhang-lis', 'L-778', '张', ['三'], '1990-03-07', 'male'), identifier: [{ system: LIS, value: 'L-778' }] },
];

function encounter(id: string, patientId: string, start: string, end: string | undefined, ward: string, extra: Record<string, unknown> = {}): R {
  return {
    resourceType: 'Encounter', id,
    identifier: [{ system: 'urn:hub:identifier/HIS/visit', value: `V-${id}` }],
    status: end ? 'finished' : 'in-progress',
    class: { system: ACT, code: 'IMP', display: 'inpatient encounter' },
    type: [{ coding: [{ system: 'urn:hub:identifier/HIS/admission-type', code: 'E', display: 'Emergency' }] }],
    subject: { reference: `Patient/${patientId}` },
    period: { start, ...(end ? { end } : {}) },
    location: [{ location: { reference: `Location/${ward}` } }],
    serviceProvider: { reference: 'Organization/demo-hospital' },
    participant: [{ individual: { reference: 'Practitioner/dr-li' } }],
    ...extra,
  } as R;
}

export const ENCOUNTERS: R[] = [
  encounter('e-zhang-1', 'p-zhang', '2026-11-23T08:00:00+08:00', undefined, 'cardiology', {
    reasonCode: [{ coding: [{ system: 'http://snomed.info/sct', code: '29857009', display: 'Chest pain' }] }],
    diagnosis: [{ condition: { reference: 'Condition/c-zhang-angina' } }],
  }),
  encounter('e-zhang-2', 'p-zhang-lis', '2025-03-01T10:00:00+08:00', '2025-03-05T12:00:00+08:00', 'cardiology', {
    hospitalization: { dischargeDisposition: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/discharge-disposition', code: 'home' }] } },
  }),
  encounter('e-duck-1', 'p-duck', '2026-02-10T09:30:00-08:00', '2026-02-12T15:00:00-08:00', 'orthopedics', {
    class: { system: ACT, code: 'AMB', display: 'ambulatory' },
    hospitalization: { dischargeDisposition: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/discharge-disposition', code: 'snf' }] } },
  }),
  encounter('e-muller-1', 'p-muller', '2026-06-15T14:00:00+02:00', '2026-06-20T10:00:00+02:00', 'cardiology'),
];

function observation(id: string, patientId: string, loinc: string, display: string, value: number, unit: string, when: string): R {
  return {
    resourceType: 'Observation', id, status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
    code: { coding: [{ system: LOINC, code: loinc, display }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: when,
    valueQuantity: { value, unit, system: 'http://unitsofmeasure.org', code: unit },
  } as R;
}

export const OBSERVATIONS: R[] = [
  observation('o-zhang-hb', 'p-zhang-lis', '718-7', 'Hemoglobin', 13.2, 'g/dL', '2026-11-23T09:10:00+08:00'),
  observation('o-zhang-glu', 'p-zhang-lis', '2345-7', 'Glucose', 7.8, 'mmol/L', '2026-11-23T09:10:00+08:00'),
  observation('o-duck-hb', 'p-duck', '718-7', 'Hemoglobin', 10.1, 'g/dL', '2026-02-11T07:00:00-08:00'),
  observation('o-muller-glu', 'p-muller', '2345-7', 'Glucose', 5.1, 'mmol/L', '2026-06-16T08:00:00+02:00'),
];

export const OTHER_CLINICAL: R[] = [
  {
    resourceType: 'DiagnosticReport', id: 'dr-zhang-cbc', status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: 'LAB' }] }],
    code: { coding: [{ system: LOINC, code: '24317-0', display: 'Hemogram' }] },
    subject: { reference: 'Patient/p-zhang-lis' }, effectiveDateTime: '2026-11-23T09:00:00+08:00',
    result: [{ reference: 'Observation/o-zhang-hb' }],
  } as R,
  {
    resourceType: 'ImagingStudy', id: 'is-zhang-cxr', status: 'available', subject: { reference: 'Patient/p-zhang' },
    started: '2026-11-23T10:00:00+08:00', series: [{ uid: '1.2.3.4', modality: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'DX' } }],
  } as R,
  {
    resourceType: 'ServiceRequest', id: 'sr-zhang-cxr', status: 'active', intent: 'order', subject: { reference: 'Patient/p-zhang' },
    code: { coding: [{ system: LOINC, code: '36643-5', display: 'XR Chest 2 Views' }] }, authoredOn: '2026-11-23T08:30:00+08:00',
  } as R,
  {
    resourceType: 'Appointment', id: 'ap-duck-followup', status: 'booked', start: '2026-12-01T09:00:00-08:00', end: '2026-12-01T09:30:00-08:00',
    participant: [{ actor: { reference: 'Patient/p-duck' }, status: 'accepted' }, { actor: { reference: 'Location/orthopedics' }, status: 'accepted' }],
  } as R,
  {
    resourceType: 'Condition', id: 'c-zhang-angina', subject: { reference: 'Patient/p-zhang' },
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
    code: { coding: [{ system: 'http://snomed.info/sct', code: '194828000', display: 'Angina' }] }, recordedDate: '2026-11-23',
  } as R,
  {
    resourceType: 'AllergyIntolerance', id: 'ai-duck-penicillin', patient: { reference: 'Patient/p-duck' },
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }] },
    code: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '7980', display: 'Penicillin G' }] }, recordedDate: '2019-05-02',
  } as R,
  { resourceType: 'Practitioner', id: 'dr-li', name: [{ family: 'Li', given: ['Wei'] }] } as R,
  { resourceType: 'Practitioner', id: 'dr-weber', name: [{ family: 'Weber', given: ['Jonas'] }] } as R,
  { resourceType: 'Location', id: 'cardiology', name: 'Cardiology ward' } as R,
  { resourceType: 'Location', id: 'orthopedics', name: 'Orthopedics ward' } as R,
  { resourceType: 'Organization', id: 'demo-hospital', name: 'Demo Hospital' } as R,
];

export const ALL_FIXTURES: R[] = [...PATIENTS, ...ENCOUNTERS, ...OBSERVATIONS, ...OTHER_CLINICAL];

/** The golden record the patient index keeps over the HIS and LIS Patients of 张三. */
export const GOLDEN_ZHANG: Patient & { id: string } = {
  resourceType: 'Patient', id: 'g-zhang', meta: { tag: [{ system: 'urn:hub:mdm', code: 'GOLDEN_RECORD' }] },
  name: [{ family: '张', given: ['三'] }], birthDate: '1990-03-07', gender: 'male',
};

/** Links as the patient index would hold them: `g-zhang` over the HIS and LIS Patients; `g-old` merged into it. */
export class FixedPatientIndex implements PatientIndexReader {
  private readonly sources: Record<string, string[]> = { 'g-zhang': ['p-zhang', 'p-zhang-lis'] };
  async goldenOf(id: string): Promise<string | undefined> {
    return Object.entries(this.sources).find(([, s]) => s.includes(id))?.[0];
  }
  async sourcesOf(id: string): Promise<string[]> {
    return this.sources[id] ?? [];
  }
  async isGolden(id: string): Promise<boolean> {
    return id in this.sources;
  }
  async survivorOf(id: string): Promise<string | undefined> {
    return id === 'g-old' ? 'g-zhang' : undefined;
  }
}

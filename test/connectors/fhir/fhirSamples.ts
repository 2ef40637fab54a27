/** Small FHIR inputs for connector tests: shapes a sending EMR produces, not a profile test. */
export const MRN_SYSTEM = 'urn:oid:2.16.840.1.113883.19.5';

export function patient(id: string, mrn: string, family = 'Zhang'): Record<string, unknown> {
  return {
    resourceType: 'Patient', id,
    identifier: [{ system: MRN_SYSTEM, value: mrn }],
    name: [{ family, given: ['Wei'] }], gender: 'male', birthDate: '1980-04-02',
  };
}

export function observation(id: string, patientRef: string, value = 7.2): Record<string, unknown> {
  return {
    resourceType: 'Observation', id, status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '2345-7', display: 'Glucose' }] },
    subject: { reference: patientRef }, valueQuantity: { value, unit: 'mmol/L' },
  };
}

export function transactionBundle(id: string, mrn: string): Record<string, unknown> {
  const pat = 'urn:uuid:6f1d6c1e-2b1f-4c55-9a61-0d5f6a0c1a01';
  return {
    resourceType: 'Bundle', id, type: 'transaction',
    entry: [
      { fullUrl: pat, resource: withoutId(patient('x', mrn)), request: { method: 'POST', url: 'Patient' } },
      { fullUrl: 'urn:uuid:6f1d6c1e-2b1f-4c55-9a61-0d5f6a0c1a02', resource: { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject: { reference: pat } }, request: { method: 'POST', url: 'Encounter' } },
      { fullUrl: 'urn:uuid:6f1d6c1e-2b1f-4c55-9a61-0d5f6a0c1a03', resource: withoutId(observation('x', pat)), request: { method: 'POST', url: 'Observation' } },
    ],
  };
}

function withoutId(resource: Record<string, unknown>): Record<string, unknown> {
  const { id: _id, ...rest } = resource;
  return rest;
}

import { expect } from 'chai';
import type { Resource } from 'fhir/r4.js';
import { fhirProblems, fhirSchemaValidator, fullResourceValidators } from '../../../hub/pipeline/fhirSchemaValidator.ts';

const problemsOf = (r: unknown) => fhirProblems(r as Resource).map((p) => `${p.path}: ${p.message}`);

describe('FHIR R4 output validation (official schema + cheap invariants)', () => {
  const encounter = {
    resourceType: 'Encounter', id: 'e1', status: 'finished', class: { code: 'IMP' },
    subject: { reference: 'Patient/p1' }, period: { start: '2026-11-20T09:30:00+08:00', end: '2026-11-25T09:55:00+08:00' },
  };

  it('accepts a valid resource and leaves it unchanged', () => {
    const copy = structuredClone(encounter);
    expect(problemsOf(copy)).to.deep.equal([]);
    expect(copy).to.deep.equal(encounter);
  });

  it('names the path of schema errors: wrong code, bad date, unknown element, missing required element', () => {
    expect(problemsOf({ ...encounter, status: 'done' }).join('\n')).to.match(/Encounter\.status: must be one of/);
    expect(problemsOf({ resourceType: 'Patient', id: 'p', birthDate: '12/04/1985' }).join('\n')).to.match(/Patient\.birthDate: must match pattern/);
    expect(problemsOf({ resourceType: 'Patient', id: 'p', sex: 'F' }).join('\n')).to.contain('Patient.sex: is not a known key');
    expect(problemsOf({ resourceType: 'Coverage', id: 'c', status: 'active', payor: [{ reference: 'Organization/o' }] }).join('\n')).to.contain('Coverage.beneficiary: is required');
  });

  it('checks what the schema cannot: required primitives, empty elements, reference format, period order', () => {
    const { status: _s, ...noStatus } = encounter;
    expect(problemsOf(noStatus)).to.include('Encounter.status: is required');
    expect(problemsOf({ ...encounter, identifier: [] })).to.include('Encounter.identifier: is empty (ele-1: elements must have a value or children)');
    expect(problemsOf({ ...encounter, subject: { reference: 'Patient p1' } })).to.include('Encounter.subject.reference: "Patient p1" is not a Type/id, absolute or contained reference');
    expect(problemsOf({ ...encounter, period: { start: '2026-11-25', end: '2026-11-20' } })).to.include('Encounter.period: starts (2026-11-25) after it ends (2026-11-20) (per-1)');
  });

  it('refuses a resource type R4 does not have', () => {
    expect(problemsOf({ resourceType: 'Patients', id: 'x' })).to.deep.equal(['Patients: "Patients" is not a FHIR R4 resource type']);
  });

  it('reports each problem as a HubError naming the mapping file, the resource and the path', () => {
    const [error] = fhirSchemaValidator({ ...encounter, status: 'done' } as Resource, 'hl7v2/messages/ADT_A03.yaml');
    expect(error!.code).to.equal('FHIR_RESOURCE_INVALID');
    expect(error!.message).to.match(/^hl7v2\/messages\/ADT_A03\.yaml: Encounter\/e1: Encounter\.status: must be one of/);
    expect(error!.detail).to.deep.include({ path: 'Encounter.status', mappingFile: 'hl7v2/messages/ADT_A03.yaml', resource: 'Encounter/e1' });
  });

  it('the pipeline runs the id check and the schema check', () => {
    const errors = fullResourceValidators.flatMap((v) => v({ ...encounter, id: 'not valid!' } as Resource, 'm.yaml'));
    expect(errors.map((e) => e.code)).to.include.members(['FHIR_ID_INVALID', 'FHIR_RESOURCE_INVALID']);
  });
});

import { expect } from 'chai';
import type { Encounter, Observation, Patient } from 'fhir/r4.js';
import { referenceKey, searchIndexFor, valuesAtPath } from '../../../hub/store/searchIndex.ts';
import { sortKeysFor } from '../../../hub/store/searchIndexMatch.ts';

describe('searchIndexFor', () => {
  const patient: Patient & { id: string } = {
    resourceType: 'Patient', id: 'p1', meta: { lastUpdated: '2026-11-23T01:02:03.000Z' },
    identifier: [{ system: 'urn:mrn', value: 'MRN1' }, { value: 'LOCAL9' }],
    name: [{ family: 'Müller', given: ['Anna', 'Lena'] }],
    telecom: [{ system: 'phone', value: '555-1' }, { system: 'email', value: 'a@example.org' }],
    gender: 'female', birthDate: '1985-06',
    generalPractitioner: [{ reference: 'https://other.example/fhir/Practitioner/dr1/_history/3' }],
  };

  it('indexes strings lower-cased without accents, every part of a name', () => {
    const index = searchIndexFor(patient);
    expect(index.name).to.deep.equal(['muller', 'anna', 'lena']);
    expect(index.family).to.deep.equal(['muller']);
  });

  it('indexes tokens as code, system|code and system| (or |code without a system)', () => {
    expect(searchIndexFor(patient).identifier).to.deep.equal(['MRN1', 'urn:mrn|MRN1', 'urn:mrn|', 'LOCAL9', '|LOCAL9']);
    expect(searchIndexFor(patient).phone).to.deep.equal(['555-1']);
    expect(searchIndexFor(patient).email).to.deep.equal(['a@example.org']);
  });

  it('indexes dates as one UTC range and references as Type/id', () => {
    const index = searchIndexFor(patient);
    expect(index.birthdate).to.deep.equal({ lo: '1985-06-01T00:00:00.000Z', hi: '1985-06-30T23:59:59.999Z' });
    expect(index._lastUpdated).to.deep.equal({ lo: '2026-11-23T01:02:03.000Z', hi: '2026-11-23T01:02:03.000Z' });
    expect(index['general-practitioner']).to.deep.equal(['Practitioner/dr1']);
  });

  it('keeps only references to the target type for patient parameters', () => {
    const enc: Encounter & { id: string } = { resourceType: 'Encounter', id: 'e1', status: 'finished', class: { code: 'IMP' }, subject: { reference: 'Group/g1' } };
    const index = searchIndexFor(enc);
    expect(index.subject).to.deep.equal(['Group/g1']);
    expect(index.patient).to.equal(undefined);
  });

  it('indexes a quantity with its system and code, and sorts by the smallest entry', () => {
    const obs: Observation & { id: string } = {
      resourceType: 'Observation', id: 'o1', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '718-7' }] },
      valueQuantity: { value: 13.2, unit: 'g/dL', system: 'http://unitsofmeasure.org', code: 'g/dL' },
    };
    expect(searchIndexFor(obs)['value-quantity']).to.deep.equal({ value: 13.2, system: 'http://unitsofmeasure.org', code: 'g/dL' });
    expect(sortKeysFor(searchIndexFor(patient)).name).to.equal('anna');
  });

  it('walks paths with repeats and [element=value] filters', () => {
    expect(valuesAtPath(patient, 'telecom[system=email].value')).to.deep.equal(['a@example.org']);
    expect(valuesAtPath(patient, 'name.given')).to.deep.equal(['Anna', 'Lena']);
    expect(referenceKey('Patient/p1/_history/2')).to.equal('Patient/p1');
    expect(referenceKey('urn:uuid:1234')).to.equal(undefined);
  });
});

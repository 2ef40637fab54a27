import { expect } from 'chai';
import { fhirControlIdOf } from '../../../connectors/fhir/fhirControlId.ts';
import { fhirPatientKeyOf } from '../../../connectors/fhir/fhirPatientKey.ts';
import { MRN_SYSTEM, observation, patient, transactionBundle } from './fhirSamples.ts';

describe('FHIR record key and control id', () => {
  it('keys by the first identifier of the first Patient, in a Bundle or alone', () => {
    expect(fhirPatientKeyOf(transactionBundle('b', 'M1'))).to.equal(`${MRN_SYSTEM}|M1`);
    expect(fhirPatientKeyOf({ ...patient('p', 'M2'), identifier: [{ system: 'x' }, { value: 'LOCAL-2' }] })).to.equal('LOCAL-2');
    expect(fhirPatientKeyOf({ resourceType: 'Patient', id: 'p9' })).to.equal('Patient/p9');
  });

  it('keys a clinical resource by the patient it points at, and nothing when none is evident', () => {
    expect(fhirPatientKeyOf(observation('o', 'http://emr/fhir/Patient/p4/_history/2'))).to.equal('Patient/p4');
    expect(fhirPatientKeyOf({ resourceType: 'Condition', subject: { identifier: { system: 'urn:mrn', value: '77' } } })).to.equal('urn:mrn|77');
    expect(fhirPatientKeyOf({ resourceType: 'Organization', id: 'o' })).to.equal(undefined);
    expect(fhirPatientKeyOf({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: observation('o', 'urn:uuid:1') }] })).to.equal(undefined);
  });

  it('names an input by its message header, Bundle id or Type/id, and only otherwise by a fresh UUID', () => {
    const message = { resourceType: 'Bundle', id: 'b1', type: 'message', entry: [{ resource: { resourceType: 'MessageHeader', id: 'mh-5' } }] };
    expect(fhirControlIdOf(message)).to.equal('mh-5');
    expect(fhirControlIdOf({ ...message, type: 'collection' })).to.equal('b1');
    expect(fhirControlIdOf(patient('p-1', 'M'))).to.equal('Patient/p-1');
    const a = fhirControlIdOf({ resourceType: 'Observation' });
    expect(a).to.match(/^[0-9a-f-]{36}$/);
    expect(fhirControlIdOf({ resourceType: 'Observation' })).to.not.equal(a);
  });
});

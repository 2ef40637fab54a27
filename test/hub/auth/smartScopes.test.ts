import { expect } from 'chai';
import { parseScopes, patientScopesAllow, scopesAllow } from '../../../hub/auth/smartScopes.ts';

describe('SMART scopes', () => {
  const allows = (scope: string, type: string, access: 'read' | 'search' | 'write'): boolean => scopesAllow(parseScopes(scope), type, access);

  it('grants read and search for v1 .read on the named type only', () => {
    expect(allows('user/Patient.read', 'Patient', 'read')).to.equal(true);
    expect(allows('user/Patient.read', 'Patient', 'search')).to.equal(true);
    expect(allows('user/Patient.read', 'Patient', 'write')).to.equal(false);
    expect(allows('user/Patient.read', 'Encounter', 'read')).to.equal(false);
  });

  it('treats * as every type and .* as every access', () => {
    expect(allows('system/*.read', 'Observation', 'search')).to.equal(true);
    expect(allows('system/*.read', 'Observation', 'write')).to.equal(false);
    expect(allows('user/*.*', 'Patient', 'write')).to.equal(true);
  });

  it('reads v2 permission letters: r read, s search, cud write', () => {
    expect(allows('user/Encounter.rs', 'Encounter', 'read')).to.equal(true);
    expect(allows('user/Encounter.s', 'Encounter', 'read')).to.equal(false);
    expect(allows('user/Encounter.s', 'Encounter', 'search')).to.equal(true);
    expect(allows('system/Patient.cu', 'Patient', 'write')).to.equal(true);
  });

  it('keeps patient/ scopes out of the outright grant, query-restricted and non-resource scopes too', () => {
    expect(allows('patient/*.read', 'Patient', 'read')).to.equal(false);
    expect(allows('user/Observation.rs?category=laboratory', 'Observation', 'read')).to.equal(false);
    expect(allows('openid fhirUser launch offline_access', 'Patient', 'read')).to.equal(false);
    expect(allows('', 'Patient', 'read')).to.equal(false);
  });

  it('asks for a wildcard scope when the request names no type', () => {
    expect(allows('user/Patient.read', '*', 'read')).to.equal(false);
    expect(allows('system/*.read', '*', 'read')).to.equal(true);
  });

  it('grants patient/ scopes only as a compartment grant, v1 and v2 alike', () => {
    const patientAllows = (scope: string, type: string, access: 'read' | 'search' | 'write'): boolean => patientScopesAllow(parseScopes(scope), type, access);
    expect(patientAllows('patient/*.read', 'Observation', 'search')).to.equal(true);
    expect(patientAllows('patient/Observation.rs', 'Observation', 'read')).to.equal(true);
    expect(patientAllows('patient/Observation.rs', 'Encounter', 'read')).to.equal(false);
    expect(patientAllows('patient/Observation.rs', 'Observation', 'write')).to.equal(false);
    expect(patientAllows('user/*.read', 'Observation', 'read')).to.equal(false);
    expect(patientAllows('patient/Observation.rs?category=laboratory', 'Observation', 'read')).to.equal(false);
  });
});

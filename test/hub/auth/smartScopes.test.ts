import { expect } from 'chai';
import { parseScopes, scopesAllow } from '../../../hub/auth/smartScopes.ts';

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

  it('grants nothing for patient/ scopes, query-restricted scopes and non-resource scopes', () => {
    expect(allows('patient/*.read', 'Patient', 'read')).to.equal(false);
    expect(allows('user/Observation.rs?category=laboratory', 'Observation', 'read')).to.equal(false);
    expect(allows('openid fhirUser launch offline_access', 'Patient', 'read')).to.equal(false);
    expect(allows('', 'Patient', 'read')).to.equal(false);
  });

  it('asks for a wildcard scope when the request names no type', () => {
    expect(allows('user/Patient.read', '*', 'read')).to.equal(false);
    expect(allows('system/*.read', '*', 'read')).to.equal(true);
  });
});

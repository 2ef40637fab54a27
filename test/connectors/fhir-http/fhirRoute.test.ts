import { expect } from 'chai';
import { fhirRouteOf } from '../../../connectors/fhir-http/fhirRoute.ts';

describe('FHIR push routes', () => {
  it('maps the base, create and update URLs to inputs with what the URL expects', () => {
    expect(fhirRouteOf('POST', '/fhir', '/fhir')).to.deep.equal({ kind: 'input' });
    expect(fhirRouteOf('POST', '/fhir/', '/fhir')).to.deep.equal({ kind: 'input' });
    expect(fhirRouteOf('POST', '/fhir/Patient', '/fhir')).to.deep.equal({ kind: 'input', expect: { resourceType: 'Patient' } });
    expect(fhirRouteOf('PUT', '/fhir/Patient/a-1.2', '/fhir')).to.deep.equal({ kind: 'input', expect: { resourceType: 'Patient', id: 'a-1.2' } });
    expect(fhirRouteOf('POST', '/', '/')).to.deep.equal({ kind: 'input' });
  });

  it('tells wrong methods from URLs that lead nowhere', () => {
    expect(fhirRouteOf('GET', '/fhir', '/fhir')).to.deep.equal({ kind: 'health' });
    expect(fhirRouteOf('GET', '/fhir/metadata', '/fhir')).to.deep.equal({ kind: 'metadata' });
    expect(fhirRouteOf('POST', '/fhir/metadata', '/fhir')).to.deep.equal({ kind: 'method-not-allowed', allow: 'GET' });
    expect(fhirRouteOf('DELETE', '/fhir', '/fhir')).to.deep.equal({ kind: 'method-not-allowed', allow: 'GET, POST' });
    expect(fhirRouteOf('POST', '/fhir/Patient/1', '/fhir')).to.deep.equal({ kind: 'method-not-allowed', allow: 'PUT' });
    expect(fhirRouteOf('POST', '/fhirx', '/fhir').kind).to.equal('not-found');
    expect(fhirRouteOf('PUT', '/fhir/Patient/1/_history/2', '/fhir').kind).to.equal('not-found');
    expect(fhirRouteOf('PUT', '/fhir/Patient/%E0%A4%A', '/fhir').kind).to.equal('not-found');
  });
});

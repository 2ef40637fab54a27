import { expect } from 'chai';
import { connectorKinds, connectorOptions, validateConnectors } from '../../connectors/connectorRegistry.ts';
import type { ConnectorConfig } from '../../hub/config/hubConfig.ts';
import { HubError } from '../../hub/core/hubError.ts';
import { loadConfig } from '../../hub/config/loadConfig.ts';

function failure(fn: () => unknown): HubError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(HubError);
    return err as HubError;
  }
  throw new Error('expected a configuration error');
}

const mllp = (id: string, options?: Record<string, unknown>, port = 0): ConnectorConfig => ({ id, kind: 'hl7v2-mllp', sourceSystem: 'LIS', port, ...(options ? { options } : {}) });

describe('connector registry', () => {
  it('knows the MLLP, file and HTTP kinds and the FHIR push and poll kinds', () => {
    expect(connectorKinds()).to.deep.equal(['hl7v2-mllp', 'hl7v2-file', 'hl7v2-http', 'fhir-http', 'fhir-poll']);
  });

  it('fills in the documented defaults of a kind', () => {
    expect(connectorOptions(mllp('his-adt'))).to.deep.include({ maxMessageBytes: 1_000_000, storeFailureAck: 'AE', alwaysAck: false });
  });

  it('names the connector id and every bad key of its options', () => {
    const err = failure(() => connectorOptions(mllp('lis-results', { maxMessageBytes: 'big', colour: 'red' })));
    expect(err.code).to.equal('CONFIG_CONNECTOR_OPTIONS_INVALID');
    expect(err.message).to.equal('connector "lis-results" (hl7v2-mllp): options.colour is not a known key; options.maxMessageBytes must be integer');
    expect(err.detail.path).to.equal('connectors.lis-results.options.colour');
  });

  it('names a missing required option of the file kind', () => {
    const err = failure(() => connectorOptions({ id: 'drop', kind: 'hl7v2-file', sourceSystem: 'other', options: {} }));
    expect(err.message).to.equal('connector "drop" (hl7v2-file): options.directory is required');
  });

  it('refuses an unknown kind, listing the known ones', () => {
    const err = failure(() => connectorOptions({ id: 'x', kind: 'carrier-pigeon', sourceSystem: 'other' }));
    expect(err.code).to.equal('CONFIG_CONNECTOR_KIND_UNKNOWN');
    expect(err.message).to.contain('hl7v2-mllp, hl7v2-file, hl7v2-http');
  });

  it('refuses two connectors on one port but ignores disabled entries', () => {
    expect(failure(() => validateConnectors([mllp('a', undefined, 2600), mllp('b', undefined, 2600)])).code).to.equal('CONFIG_CONNECTOR_PORT_TAKEN');
    expect(() => validateConnectors([mllp('a', undefined, 2600), { ...mllp('b', { bogus: 1 }, 2600), enabled: false }])).to.not.throw();
  });

  it('accepts the shipped default feeds for HIS, LIS, PACS, a drop folder and HTTP', () => {
    const { connectors, auth } = loadConfig({ env: {} });
    expect(() => validateConnectors(connectors, auth)).to.not.throw();
    expect(connectors.map((c) => `${c.id}:${c.kind}:${c.sourceSystem}:${c.port ?? '-'}`)).to.include.members([
      'his-adt:hl7v2-mllp:HIS:2575', 'lis-results:hl7v2-mllp:LIS:2576', 'pacs-orders:hl7v2-mllp:PACS:2577',
      'file-drop:hl7v2-file:other:-', 'http-hl7:hl7v2-http:other:2580',
    ]);
  });

  describe('who may send, checked before any connector starts', () => {
    const idp = { enabled: true, issuer: 'https://idp.example.org', audience: 'urn:hub:fhir-api', jwksUrl: 'https://idp.example.org/jwks' };

    it('refuses an MLLP listener others can reach that names no senders, saying what to set', () => {
      const err = failure(() => validateConnectors([{ ...mllp('his-adt'), host: '0.0.0.0' }], idp));
      expect(err.code).to.equal('CONFIG_CONNECTOR_ALLOWED_SENDERS');
      expect(err.message).to.equal('connector "his-adt" (hl7v2-mllp) listens on 0.0.0.0 but names no senders: set options.allowedSenders to the sending systems\' addresses or CIDR blocks (e.g. ["10.20.0.15", "10.20.1.0/24"]), or require client certificates (options.tls with caFile and requestClientCert: true)');
      expect(err.detail.path).to.equal('connectors.his-adt.options.allowedSenders');
      expect(() => validateConnectors([{ ...mllp('his-adt', { allowedSenders: ['10.20.0.15', '10.20.1.0/24'] }), host: '0.0.0.0' }], idp)).to.not.throw();
      expect(() => validateConnectors([{ ...mllp('his-adt', { tls: { certFile: 'c', keyFile: 'k', caFile: 'ca', requestClientCert: true } }), host: '0.0.0.0' }], idp)).to.not.throw();
    });

    it('names a sender entry that is not an address', () => {
      const err = failure(() => validateConnectors([mllp('lis', { allowedSenders: ['10.0.0.1', 'lis.example.org'] })], idp));
      expect(err.message).to.equal('connector "lis" (hl7v2-mllp): options.allowedSenders[1] "lis.example.org" is not an IP address or CIDR block (e.g. 10.20.0.15 or 10.20.1.0/24)');
    });

    it('refuses the replaced bearerTokenEnv of hl7v2-http, pointing at the legacy mode and the default', () => {
      const err = failure(() => validateConnectors([{ id: 'http-hl7', kind: 'hl7v2-http', sourceSystem: 'other', port: 0, options: { bearerTokenEnv: 'HL7_TOKEN' } }], idp));
      expect(err.code).to.equal('CONFIG_CONNECTOR_OPTION_REPLACED');
      expect(err.message).to.contain('keep the static token with auth: { mode: shared-token, tokenEnv: HL7_TOKEN } (legacy)');
    });

    it('refuses the container site file until each MLLP feed names its senders, and starts once they do', () => {
      const docker = loadConfig({ env: {}, siteFile: 'config/docker.yaml', overrides: { 'auth.jwksUrl': idp.jwksUrl } });
      const err = failure(() => validateConnectors(docker.connectors, docker.auth));
      expect(err.message).to.contain('connector "his-adt" (hl7v2-mllp) listens on 0.0.0.0 but names no senders: set options.allowedSenders');
      const named = docker.connectors.map((c) => (c.kind === 'hl7v2-mllp' ? { ...c, options: { ...c.options, allowedSenders: ['10.20.0.0/24'] } } : c));
      expect(() => validateConnectors(named, docker.auth)).to.not.throw();
      expect(docker.connectors.filter((c) => c.kind.endsWith('-http')).map((c) => (c.options?.auth as { mode: string }).mode)).to.deep.equal(['bearer', 'bearer']);
    });
  });
});

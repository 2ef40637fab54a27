import { expect } from 'chai';
import { checkIntakeAuthConfig, type IntakeAuthOptions } from '../../connectors/intakeAuth.ts';
import type { AuthConfig } from '../../hub/auth/authConfig.ts';
import type { ConnectorConfig } from '../../hub/config/hubConfig.ts';
import { HubError } from '../../hub/core/hubError.ts';

const idp: AuthConfig = { enabled: true, issuer: 'https://idp.example.org', audience: 'urn:hub:fhir-api', jwksUrl: 'https://idp.example.org/jwks' };
const dev: AuthConfig = { enabled: true, issuer: 'urn:hub:dev-issuer', audience: 'urn:hub:fhir-api', devSecret: 'quick-start' };
const push = (host: string): ConnectorConfig => ({ id: 'fhir-push', kind: 'fhir-http', sourceSystem: 'other', host, port: 2590 });
const tls = { certFile: 'server.pem', keyFile: 'server.key' };

function refusal(fn: () => void): HubError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(HubError);
    return err as HubError;
  }
  throw new Error('expected the configuration to be refused');
}

describe('intake authentication settings checked at start-up', () => {
  const check = (host: string, auth: IntakeAuthOptions, t?: typeof tls & { caFile?: string; requestClientCert?: boolean }, hubAuth: AuthConfig | undefined = idp) =>
    () => checkIntakeAuthConfig(push(host), auth, t, hubAuth);

  it('accepts bearer tokens from an identity provider on any host, and the dev secret on loopback only', () => {
    expect(check('0.0.0.0', { mode: 'bearer' })).to.not.throw();
    expect(check('127.0.0.1', { mode: 'bearer' }, undefined, dev)).to.not.throw();
    const err = refusal(check('0.0.0.0', { mode: 'bearer' }, undefined, dev));
    expect(err.code).to.equal('CONFIG_CONNECTOR_AUTH');
    expect(err.message).to.contain('auth.devSecret is only accepted while bearer intakes listen on loopback (this one listens on 0.0.0.0)');
  });

  it('refuses bearer mode when the hub has no keys to check tokens with', () => {
    const err = refusal(check('127.0.0.1', { mode: 'bearer' }, undefined, { enabled: false, issuer: 'x', audience: 'y' }));
    expect(err.message).to.equal('connector "fhir-push" (fhir-http): auth.mode "bearer" (the default) checks tokens with the hub\'s auth section, which names no jwksUrl, publicKeys or devSecret; configure auth, or use auth.mode "mtls"');
    expect(err.detail.path).to.equal('connectors.fhir-push.options.auth.mode');
  });

  it('allows no authentication on a loopback host only, saying what to use instead', () => {
    expect(check('127.0.0.1', { mode: 'none' })).to.not.throw();
    expect(check('localhost', { mode: 'none' })).to.not.throw();
    const err = refusal(check('0.0.0.0', { mode: 'none' }));
    expect(err.message).to.equal('connector "fhir-push" (fhir-http): auth.mode "none" is only allowed on a loopback host, and this intake listens on 0.0.0.0; use "bearer" (tokens checked with the hub\'s auth keys) or "mtls" (options.tls with caFile and requestClientCert: true)');
  });

  it('requires a client CA and client certificates for mutual TLS', () => {
    expect(check('0.0.0.0', { mode: 'mtls' }, { ...tls, caFile: 'ca.pem', requestClientCert: true })).to.not.throw();
    for (const t of [undefined, tls, { ...tls, requestClientCert: true }, { ...tls, caFile: 'ca.pem' }]) {
      expect(refusal(check('0.0.0.0', { mode: 'mtls' }, t)).detail.path).to.equal('connectors.fhir-push.options.tls');
    }
  });

  it('keeps the legacy shared token to an explicit mode with its variable set', () => {
    process.env.HUB_TEST_INTAKE_TOKEN = 'legacy-secret';
    expect(check('0.0.0.0', { mode: 'shared-token', tokenEnv: 'HUB_TEST_INTAKE_TOKEN' })).to.not.throw();
    expect(refusal(check('0.0.0.0', { mode: 'shared-token' })).message).to.contain('needs auth.tokenEnv');
    expect(refusal(check('0.0.0.0', { mode: 'shared-token', tokenEnv: 'HUB_TEST_UNSET_TOKEN' })).message).to.contain('environment variable HUB_TEST_UNSET_TOKEN (auth.tokenEnv) is not set');
    expect(refusal(check('0.0.0.0', { mode: 'bearer', tokenEnv: 'HUB_TEST_INTAKE_TOKEN' })).message).to.contain('auth.tokenEnv applies only to auth.mode "shared-token"');
  });
});

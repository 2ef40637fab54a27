import { expect } from 'chai';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type GenerateKeyPairResult } from 'jose';
import type { AuthConfig } from '../../../hub/auth/authConfig.ts';
import { mintDevToken } from '../../../hub/auth/devToken.ts';
import { TokenVerifier } from '../../../hub/auth/tokenVerifier.ts';
import { HubError } from '../../../hub/core/hubError.ts';

const BASE: AuthConfig = { enabled: true, issuer: 'https://idp.example.org', audience: 'https://hub.example.org/fhir' };

async function rejection(p: Promise<unknown>): Promise<HubError> {
  try {
    await p;
  } catch (err) {
    return err as HubError;
  }
  throw new Error('expected a rejection');
}

describe('TokenVerifier', () => {
  let keys: GenerateKeyPairResult;
  before(async () => { keys = await generateKeyPair('RS256', { extractable: true }); });

  const sign = (claims: Record<string, unknown>, opts: { iss?: string; aud?: string; exp?: string } = {}): Promise<string> =>
    new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(opts.iss ?? BASE.issuer).setAudience(opts.aud ?? BASE.audience)
      .setSubject('crm-user-7').setIssuedAt().setExpirationTime(opts.exp ?? '5m').sign(keys.privateKey);

  it('accepts an RS256 token signed by a static PEM key and reads its scopes and client', async () => {
    const verifier = await TokenVerifier.create({ ...BASE, publicKeys: [await exportSPKI(keys.publicKey)] });
    const principal = await verifier.verify(`Bearer ${await sign({ scope: 'user/Patient.read openid', client_id: 'crm' })}`);
    expect(principal.subject).to.equal('crm-user-7');
    expect(principal.clientId).to.equal('crm');
    expect(principal.scopes.map((s) => `${s.context}/${s.type}`)).to.deep.equal(['user/Patient']);
  });

  it('accepts a JWK key too', async () => {
    const verifier = await TokenVerifier.create({ ...BASE, publicKeys: [JSON.stringify({ ...(await exportJWK(keys.publicKey)), alg: 'RS256', kid: 'k1' })] });
    expect((await verifier.verify(`Bearer ${await sign({ scope: 'system/*.read' })}`)).scopes).to.have.length(1);
  });

  it('refuses a wrong issuer, a wrong audience, an expired token, a bad signature and a missing header', async () => {
    const verifier = await TokenVerifier.create({ ...BASE, publicKeys: [await exportSPKI(keys.publicKey)] });
    const other = await generateKeyPair('RS256');
    const forged = await new SignJWT({}).setProtectedHeader({ alg: 'RS256' }).setIssuer(BASE.issuer).setAudience(BASE.audience).setExpirationTime('5m').sign(other.privateKey);
    for (const token of [
      await sign({}, { iss: 'https://evil.example' }),
      await sign({}, { aud: 'https://other.example' }),
      await sign({}, { exp: '-10m' }),
      forged,
    ]) {
      const err = await rejection(verifier.verify(`Bearer ${token}`));
      expect(err.code).to.equal('AUTH_UNAUTHORIZED');
    }
    expect((await rejection(verifier.verify(undefined))).message).to.match(/bearer token is required/);
    expect((await rejection(verifier.verify('Basic dXNlcjpwdw=='))).code).to.equal('AUTH_UNAUTHORIZED');
  });

  it('verifies dev tokens from `hub token` with the dev secret, and no HS256 token without it', async () => {
    const dev = { ...BASE, devSecret: 'quick-start-secret-0123456789abcdef' };
    const token = await mintDevToken(dev, { scope: 'user/*.read' });
    const principal = await (await TokenVerifier.create(dev)).verify(`Bearer ${token}`);
    expect(principal.subject).to.equal('dev-user');
    const strict = await TokenVerifier.create({ ...BASE, publicKeys: [await exportSPKI(keys.publicKey)] });
    expect((await rejection(strict.verify(`Bearer ${token}`))).message).to.match(/HS256 are not accepted/);
  });

  it('reads the SMART patient launch context from a top-level patient claim, and refuses one that is not an id', async () => {
    const verifier = await TokenVerifier.create({ ...BASE, publicKeys: [await exportSPKI(keys.publicKey)] });
    const principal = await verifier.verify(`Bearer ${await sign({ scope: 'patient/*.read launch/patient', patient: 'g-zhang' })}`);
    expect(principal.patient).to.equal('g-zhang');
    expect(principal.scopes.map((s) => `${s.context}/${s.type}`)).to.deep.equal(['patient/*']);
    expect((await verifier.verify(`Bearer ${await sign({ scope: 'user/*.read' })}`)).patient).to.equal(undefined);
    for (const patient of ['Patient/../x', 42]) {
      const err = await rejection(verifier.verify(`Bearer ${await sign({ scope: 'patient/*.read', patient })}`));
      expect(err.code).to.equal('AUTH_UNAUTHORIZED');
      expect(err.message).to.match(/patient claim/);
    }
  });

  describe('token lifetime', () => {
    const now = () => Math.floor(Date.now() / 1000);
    const signRaw = (claims: Record<string, unknown>): Promise<string> =>
      new SignJWT(claims).setProtectedHeader({ alg: 'RS256' }).setIssuer(BASE.issuer).setAudience(BASE.audience).setSubject('crm-user-7').sign(keys.privateKey);
    let verifier: TokenVerifier;
    before(async () => { verifier = await TokenVerifier.create({ ...BASE, publicKeys: [await exportSPKI(keys.publicKey)], maxTokenLifetimeSeconds: 3600 }); });

    it('refuses a token without exp as unauthorized, saying tokens must expire', async () => {
      const err = await rejection(verifier.verify(`Bearer ${await signRaw({ scope: 'system/*.read', iat: now() })}`));
      expect(err.code).to.equal('AUTH_UNAUTHORIZED');
      expect(err.message).to.match(/no exp claim/);
    });

    it('refuses a token issued for 10 years, naming auth.maxTokenLifetimeSeconds', async () => {
      const err = await rejection(verifier.verify(`Bearer ${await signRaw({ iat: now(), exp: now() + 10 * 365 * 86400 })}`));
      expect(err.code).to.equal('AUTH_UNAUTHORIZED');
      expect(err.message).to.match(/auth\.maxTokenLifetimeSeconds/);
    });

    it('accepts a token that lives exactly the cap', async () => {
      expect((await verifier.verify(`Bearer ${await signRaw({ scope: 'system/*.read', iat: now(), exp: now() + 3600 })}`)).subject).to.equal('crm-user-7');
    });

    it('measures a token without iat by what is left of it: within the cap accepted, beyond it refused', async () => {
      expect((await verifier.verify(`Bearer ${await signRaw({ exp: now() + 600 })}`)).subject).to.equal('crm-user-7');
      expect((await rejection(verifier.verify(`Bearer ${await signRaw({ exp: now() + 7200 })}`))).code).to.equal('AUTH_UNAUTHORIZED');
    });

    it('does not let an iat in the future stretch a token beyond the cap from now', async () => {
      const err = await rejection(verifier.verify(`Bearer ${await signRaw({ iat: now() + 5 * 365 * 86400, exp: now() + 5 * 365 * 86400 + 600 })}`));
      expect(err.code).to.equal('AUTH_UNAUTHORIZED');
    });

    it('caps at 24 hours by default', async () => {
      const byDefault = await TokenVerifier.create({ ...BASE, publicKeys: [await exportSPKI(keys.publicKey)] });
      expect((await byDefault.verify(`Bearer ${await signRaw({ iat: now(), exp: now() + 24 * 3600 })}`)).subject).to.equal('crm-user-7');
      expect((await rejection(byDefault.verify(`Bearer ${await signRaw({ iat: now(), exp: now() + 24 * 3600 + 1 })}`))).code).to.equal('AUTH_UNAUTHORIZED');
    });

    it('mints dev tokens within the cap and refuses to mint one beyond it', async () => {
      const dev = { ...BASE, devSecret: 'quick-start-secret-0123456789abcdef', maxTokenLifetimeSeconds: 600 };
      const token = await mintDevToken(dev, { scope: 'user/*.read' });
      expect((await (await TokenVerifier.create(dev)).verify(`Bearer ${token}`)).subject).to.equal('dev-user');
      const err = await rejection(mintDevToken(dev, { ttlSeconds: 601 }));
      expect(err.code).to.equal('AUTH_TOKEN_LIFETIME_TOO_LONG');
    });
  });

  it('refuses to start without any key source', async () => {
    expect((await rejection(TokenVerifier.create(BASE))).code).to.equal('CONFIG_AUTH_KEYS');
  });
});

import { expect } from 'chai';
import { runToken } from '../../../app/commands/tokenCommand.ts';
import { TokenVerifier } from '../../../hub/auth/tokenVerifier.ts';
import { loadConfig } from '../../../hub/config/loadConfig.ts';

describe('hub token', () => {
  const config = loadConfig({ env: {} });

  it('prints a token the API verifies with the default (quick start) auth config', async () => {
    let out = '';
    expect(await runToken(['--scope', 'user/Patient.read', '--subject', 'alice'], config, (t) => { out += t; })).to.equal(0);
    const principal = await (await TokenVerifier.create(config.auth!)).verify(`Bearer ${out.trim()}`);
    expect(principal.subject).to.equal('alice');
    expect(principal.scopes.map((s) => `${s.context}/${s.type}`)).to.deep.equal(['user/Patient']);
  });

  it('puts --patient in the token as the launch context for patient/ scopes', async () => {
    let out = '';
    expect(await runToken(['--scope', 'patient/*.read', '--patient', 'g-zhang'], config, (t) => { out += t; })).to.equal(0);
    const principal = await (await TokenVerifier.create(config.auth!)).verify(`Bearer ${out.trim()}`);
    expect(principal.patient).to.equal('g-zhang');
    expect(await runToken(['--scope', 'patient/*.read', '--patient', 'Patient/x y'], config, () => undefined)).to.equal(2);
  });

  it('refuses when no dev secret is configured, and a bad --ttl', async () => {
    let out = '';
    const { devSecret: _unused, ...withoutSecret } = config.auth!;
    expect(await runToken([], { ...config, auth: withoutSecret }, (t) => { out += t; })).to.equal(1);
    expect(out).to.match(/devSecret is not configured/);
    expect(await runToken(['--ttl', 'soon'], config, () => undefined)).to.equal(2);
  });

  it('refuses a --ttl beyond auth.maxTokenLifetimeSeconds and mints within it', async () => {
    const capped = { ...config, auth: { ...config.auth!, maxTokenLifetimeSeconds: 900 } };
    let out = '';
    expect(await runToken(['--ttl', String(10 * 365 * 86400)], capped, (t) => { out += t; })).to.equal(2);
    expect(out).to.match(/maxTokenLifetimeSeconds \(900\)/);
    out = '';
    // without --ttl: the default hour, shortened to the cap
    expect(await runToken([], capped, (t) => { out += t; })).to.equal(0);
    const claims = JSON.parse(Buffer.from(out.trim().split('.')[1]!, 'base64url').toString()) as { iat: number; exp: number };
    expect(claims.exp - claims.iat).to.equal(900);
    expect((await (await TokenVerifier.create(capped.auth)).verify(`Bearer ${out.trim()}`)).subject).to.equal('dev-user');
  });
});

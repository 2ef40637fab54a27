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
});

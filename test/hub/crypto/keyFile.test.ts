import { expect } from 'chai';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadDataProtection } from '../../../hub/crypto/dataProtection.ts';
import { sealedKeyId } from '../../../hub/crypto/fieldCipher.ts';
import { addKeyToFile, createKeyFile, readKeyFile } from '../../../hub/crypto/keyFile.ts';
import type { HubError } from '../../../hub/core/hubError.ts';

async function rejection(p: Promise<unknown>): Promise<HubError> {
  try {
    await p;
  } catch (err) {
    return err as HubError;
  }
  throw new Error('expected a rejection');
}

describe('key file', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(path.join(tmpdir(), 'hub-keys-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is created readable by its owner only, and a second init refuses to overwrite it', () => {
    const file = path.join(dir, 'keys.json');
    const made = createKeyFile(file);
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    const ring = readKeyFile(file);
    expect(ring.active.id).to.equal(made.activeKey);
    expect(ring.hashKey.id).to.equal(made.hashKey);
    expect(() => createKeyFile(file)).to.throw(/exists already/);
  });

  it('adds a key that becomes active while the old one stays, and the file stays 0600', async () => {
    const file = path.join(dir, 'keys.json');
    const first = createKeyFile(file);
    const before = await loadDataProtection({ enabled: true, keyFile: file });
    const old = before!.seal(Buffer.from('x'), 'c');
    const added = addKeyToFile(file, new Date('2027-01-01T00:00:00Z'));
    expect(added.previous).to.equal(first.activeKey);
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    const after = await loadDataProtection({ enabled: true, keyFile: file });
    expect(after!.open(old, 'c').toString()).to.equal('x');
    expect(sealedKeyId(after!.seal(Buffer.from('y'), 'c'))).to.equal(added.activeKey);
    // the hash key is kept: postings and blocking keys stay findable
    expect(after!.keyedHash('d', 'v')).to.equal(before!.keyedHash('d', 'v'));
  });

  it('stops the start naming encryption.keyFile when the file is missing, too open, not a keyring, or not set', async () => {
    const missing = await rejection(loadDataProtection({ enabled: true, keyFile: path.join(dir, 'nope.json') }));
    expect(missing.code).to.equal('ENCRYPTION_KEY_FILE_MISSING');
    expect(missing.message).to.contain('encryption.keyFile');
    expect(missing.detail.path).to.equal('encryption.keyFile');

    const file = path.join(dir, 'keys.json');
    createKeyFile(file);
    chmodSync(file, 0o644);
    const open = await rejection(loadDataProtection({ enabled: true, keyFile: file }));
    expect(open.code).to.equal('ENCRYPTION_KEY_FILE_TOO_OPEN');
    expect(open.message).to.contain('mode 0644').and.to.contain('chmod 600');
    chmodSync(file, 0o640);
    expect((await rejection(loadDataProtection({ enabled: true, keyFile: file }))).code).to.equal('ENCRYPTION_KEY_FILE_TOO_OPEN');
    chmodSync(file, 0o400);
    expect(await loadDataProtection({ enabled: true, keyFile: file })).to.not.equal(undefined);

    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), hashKey: { id: 'h', key: 'c2hvcnQ=' } }), { mode: 0o600 });
    const invalid = await rejection(loadDataProtection({ enabled: true, keyFile: bad }));
    expect(invalid.code).to.equal('ENCRYPTION_KEY_FILE_INVALID');
    expect(invalid.message).to.contain('hashKey.key');

    const unset = await rejection(loadDataProtection({ enabled: true }));
    expect(unset.code).to.equal('ENCRYPTION_KEY_FILE_MISSING');
    expect(unset.message).to.contain('encryption.keyFile is not set');
  });

  it('is not read at all while encryption is off', async () => {
    expect(await loadDataProtection({ enabled: false, keyFile: path.join(dir, 'nope.json') })).to.equal(undefined);
    expect(await loadDataProtection(undefined)).to.equal(undefined);
  });
});

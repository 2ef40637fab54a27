import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { FieldCipher, sealedKeyId } from '../../../hub/crypto/fieldCipher.ts';
import { KeyedHash } from '../../../hub/crypto/keyedHash.ts';
import { buildKeyring, type Keyring } from '../../../hub/crypto/keyring.ts';
import { HubError } from '../../../hub/core/hubError.ts';

const key = () => randomBytes(32);
const hashKey = { id: 'h1', key: key() };
const k1 = { id: 'k1', key: key() };
const k2 = { id: 'k2', key: key() };

function ring(active: string, keys: Array<{ id: string; key: Buffer }>): Keyring {
  return buildKeyring({ activeKey: active, keys, hashKey }, 'test keyring');
}

function thrown(fn: () => unknown): HubError {
  try {
    fn();
  } catch (err) {
    return err as HubError;
  }
  throw new Error('expected a throw');
}

describe('field cipher (AES-256-GCM with a keyring)', () => {
  const text = Buffer.from('PID|1||11010119900307001X^^^CHN_NHC^NI||QUIXBORNE^ZELDAVINE', 'utf8');

  it('opens what it sealed, and the sealed bytes hold neither the text nor its parts', () => {
    const cipher = new FieldCipher(ring('k1', [k1]));
    const sealed = cipher.seal(text, 'Patient/p1');
    expect(cipher.open(sealed, 'Patient/p1').equals(text)).to.equal(true);
    expect(sealed.includes(Buffer.from('QUIXBORNE'))).to.equal(false);
    expect(sealed.includes(Buffer.from('11010119900307001X'))).to.equal(false);
    expect(sealedKeyId(sealed)).to.equal('k1');
    // a fresh IV every time: equal texts do not give equal ciphertexts
    expect(cipher.seal(text, 'Patient/p1').equals(sealed)).to.equal(false);
  });

  it('detects tampering: a flipped bit anywhere, another context, or a rewritten key id', () => {
    const cipher = new FieldCipher(ring('k1', [k1, { id: 'k9', key: key() }]));
    const sealed = cipher.seal(text, 'Patient/p1');
    for (const at of [sealed.length - 1, 2 + 2 + 5, 2 + 2 + 12 + 3]) {
      const bad = Buffer.from(sealed);
      bad[at]! ^= 0x01;
      expect(thrown(() => cipher.open(bad, 'Patient/p1')).code).to.equal('ENCRYPTION_TAMPERED');
    }
    // copied onto another document
    expect(thrown(() => cipher.open(sealed, 'Patient/p2')).code).to.equal('ENCRYPTION_TAMPERED');
    // the header is authenticated too: naming another key of the ring does not open
    const renamed = Buffer.from(sealed);
    renamed.write('k9', 2, 'utf8');
    expect(thrown(() => cipher.open(renamed, 'Patient/p1')).code).to.equal('ENCRYPTION_TAMPERED');
    expect(thrown(() => cipher.open(Buffer.from('not sealed'), 'Patient/p1')).code).to.equal('ENCRYPTION_FORMAT_INVALID');
  });

  it('rotates: after a new active key, old values still open and new ones use the new key', () => {
    const before = new FieldCipher(ring('k1', [k1]));
    const old = before.seal(text, 'source_messages/m1');
    const after = new FieldCipher(ring('k2', [k1, k2]));
    expect(after.open(old, 'source_messages/m1').equals(text)).to.equal(true);
    const fresh = after.seal(text, 'source_messages/m1');
    expect(sealedKeyId(fresh)).to.equal('k2');
    expect(after.activeKeyId).to.equal('k2');
    // a process still on the old keyring cannot read the new key's values, and says which key it lacks
    const err = thrown(() => before.open(fresh, 'source_messages/m1'));
    expect(err.code).to.equal('ENCRYPTION_KEY_UNKNOWN');
    expect(err.message).to.contain('"k2"');
    // once k1 is retired, what it sealed is unreadable: `hub keys rotate` must run first
    expect(thrown(() => new FieldCipher(ring('k2', [k2])).open(old, 'source_messages/m1')).code).to.equal('ENCRYPTION_KEY_UNKNOWN');
  });

  it('refuses a keyring with a short key, an unknown active key or a hash key equal to a data key', () => {
    expect(thrown(() => ring('k1', [{ id: 'k1', key: randomBytes(16) }])).message).to.contain('32 bytes');
    expect(thrown(() => ring('k3', [k1])).message).to.contain('activeKey "k3"');
    expect(thrown(() => buildKeyring({ activeKey: 'k1', keys: [k1], hashKey: { id: 'h', key: k1.key } }, 'x')).message).to.contain('differ');
    expect(thrown(() => ring('a|b', [{ id: 'a|b', key: key() }])).code).to.equal('ENCRYPTION_KEYRING_INVALID');
  });
});

describe('keyed hash (HMAC-SHA256)', () => {
  it('is equal for equal input, separated by domain, and depends on the key', () => {
    const h = new KeyedHash(hashKey);
    expect(h.digest('posting|Patient|family', 'zhang')).to.equal(h.digest('posting|Patient|family', 'zhang'));
    expect(h.digest('posting|Patient|family', 'zhang')).to.not.equal(h.digest('posting|Patient|given', 'zhang'));
    expect(h.digest('posting|Patient|family', 'zhang')).to.not.equal(new KeyedHash({ id: 'h2', key: key() }).digest('posting|Patient|family', 'zhang'));
    expect(h.digest('a', 'b')).to.match(/^[A-Za-z0-9_-]{22}$/);
  });
});

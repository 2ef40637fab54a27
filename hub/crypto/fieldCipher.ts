import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { HubError } from '../core/hubError.ts';
import type { Keyring } from './keyring.ts';

/**
 * AES-256-GCM for values stored at rest. A sealed value carries the id of the key that sealed
 * it, so any key of the keyring opens it and the active key seals: rotation needs no flag day.
 *
 *   [1: format 0x01][1: key id length n][n: key id][12: IV][16: GCM tag][ciphertext]
 *
 * The header and a caller-given context (e.g. `Patient/<id>`) are authenticated with the data,
 * so a sealed value copied onto another document, or given another key id, fails to open
 * instead of opening as the wrong thing. IVs are random: NIST's bound for random 96-bit IVs is
 * 2^32 values per key, far beyond what a key is used for between rotations.
 */
const FORMAT = 0x01;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class FieldCipher {
  constructor(private readonly keyring: Keyring) {}

  get activeKeyId(): string {
    return this.keyring.active.id;
  }

  seal(plain: Buffer, context: string): Buffer {
    const { id, key } = this.keyring.active;
    const header = headerOf(id);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.concat([header, Buffer.from(context, 'utf8')]));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([header, iv, cipher.getAuthTag(), body]);
  }

  open(sealed: Buffer, context: string): Buffer {
    const id = sealedKeyId(sealed);
    const key = this.keyring.keys.get(id);
    if (!key) {
      throw new HubError('ENCRYPTION_KEY_UNKNOWN', `${context} was sealed with key "${id}", which the keyring does not hold (it has ${[...this.keyring.keys.keys()].join(', ')}); put that key back in encryption.keyFile`, { keyId: id });
    }
    const headerLength = 2 + Buffer.byteLength(id);
    const iv = sealed.subarray(headerLength, headerLength + IV_BYTES);
    const tag = sealed.subarray(headerLength + IV_BYTES, headerLength + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(Buffer.concat([sealed.subarray(0, headerLength), Buffer.from(context, 'utf8')]));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(sealed.subarray(headerLength + IV_BYTES + TAG_BYTES)), decipher.final()]);
    } catch {
      throw new HubError('ENCRYPTION_TAMPERED', `${context} does not authenticate under key "${id}": the sealed value was altered or belongs to another record`, { keyId: id });
    }
  }
}

function headerOf(keyId: string): Buffer {
  const id = Buffer.from(keyId, 'utf8');
  return Buffer.concat([Buffer.from([FORMAT, id.length]), id]);
}

/** The id of the key a sealed value names (without opening it): what `hub keys rotate` looks for. */
export function sealedKeyId(sealed: Buffer): string {
  if (sealed.length < 2 || sealed[0] !== FORMAT || sealed.length < 2 + sealed[1]! + IV_BYTES + TAG_BYTES) {
    throw new HubError('ENCRYPTION_FORMAT_INVALID', `a sealed value is not in format ${FORMAT} (${sealed.length} bytes): it was not written by this hub's cipher`);
  }
  return sealed.subarray(2, 2 + sealed[1]!).toString('utf8');
}

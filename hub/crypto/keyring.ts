import { HubError } from '../core/hubError.ts';

/**
 * The keys encryption at rest works with. Data keys seal (AES-256-GCM); several are kept so that
 * data sealed under an older key still opens after a rotation, while everything newly written
 * uses the active one. The hash key is separate: it makes the keyed hashes that stand in for
 * searchable values (search postings, blocking keys, Kafka keys), which must stay the same for
 * a value for as long as the data is searched by it, so it is not rotated with the data keys.
 */
export interface DataKey {
  id: string;
  key: Buffer;
}

export interface Keyring {
  /** the key new data is sealed with */
  readonly active: DataKey;
  /** every data key, the active one included, by id */
  readonly keys: ReadonlyMap<string, Buffer>;
  readonly hashKey: DataKey;
}

/** Where a keyring comes from: a key file (keyFile.ts) or, in a deployment that has one, a KMS. */
export interface KeyProvider {
  /** a description for messages, e.g. `encryption.keyFile /etc/hub/keys.json` */
  readonly source: string;
  load(): Promise<Keyring>;
}

export const KEY_BYTES = 32;
/** Key ids travel in every sealed value and Kafka header: short, printable, no separators we use. */
export const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

export interface KeyringInput {
  activeKey: string;
  keys: Array<{ id: string; key: Buffer }>;
  hashKey: { id: string; key: Buffer };
}

/** Checks what a provider read and builds the keyring; `source` names where it came from in errors. */
export function buildKeyring(input: KeyringInput, source: string): Keyring {
  const invalid = (message: string) => new HubError('ENCRYPTION_KEYRING_INVALID', `${source}: ${message}`, { path: 'encryption.keyFile' });
  const keys = new Map<string, Buffer>();
  for (const k of input.keys) {
    if (!KEY_ID.test(k.id)) throw invalid(`key id "${k.id}" must be 1-64 letters, digits, '.', '_' or '-'`);
    if (k.key.length !== KEY_BYTES) throw invalid(`key "${k.id}" must be ${KEY_BYTES} bytes (it is ${k.key.length})`);
    if (keys.has(k.id)) throw invalid(`key id "${k.id}" is listed twice`);
    keys.set(k.id, k.key);
  }
  const active = keys.get(input.activeKey);
  if (!active) throw invalid(`activeKey "${input.activeKey}" is not one of the keys (${[...keys.keys()].join(', ') || 'none'})`);
  if (!KEY_ID.test(input.hashKey.id)) throw invalid(`hash key id "${input.hashKey.id}" must be 1-64 letters, digits, '.', '_' or '-'`);
  if (input.hashKey.key.length !== KEY_BYTES) throw invalid(`hashKey must be ${KEY_BYTES} bytes (it is ${input.hashKey.key.length})`);
  if ([...keys.values()].some((k) => k.equals(input.hashKey.key))) throw invalid('hashKey must differ from every data key');
  return { active: { id: input.activeKey, key: active }, keys, hashKey: { ...input.hashKey } };
}

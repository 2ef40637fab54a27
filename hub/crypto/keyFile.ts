import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { HubError } from '../core/hubError.ts';
import { buildKeyring, KEY_BYTES, type KeyProvider, type Keyring } from './keyring.ts';

/**
 * The key file: a JSON keyring the hub reads at start-up. It must belong to the hub's user alone
 * (mode 0600 or stricter), as SSH insists for private keys: a key others can read protects
 * nothing.
 *
 *   {
 *     "format": "hub-keyring-1",
 *     "activeKey": "k-2026-12-01",
 *     "keys": [{ "id": "k-2026-12-01", "key": "<32 bytes, base64>", "createdAt": "2026-12-01T08:00:00Z" }],
 *     "hashKey": { "id": "h-2026-12-01", "key": "<32 bytes, base64>" }
 *   }
 */
export const KEY_FILE_FORMAT = 'hub-keyring-1';
const CONFIG_KEY = 'encryption.keyFile';

interface KeyFileJson {
  format: string;
  activeKey: string;
  keys: Array<{ id: string; key: string; createdAt?: string }>;
  hashKey: { id: string; key: string };
}

function fileError(code: string, message: string): HubError {
  return new HubError(code, message, { path: CONFIG_KEY });
}

/** Group and others must have no access: 0600, 0400 and 0700 pass, 0640 and 0644 do not. */
export function checkKeyFileMode(file: string): void {
  let mode: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw fileError('ENCRYPTION_KEY_FILE_UNREADABLE', `${CONFIG_KEY} ${file} is not a regular file`);
    mode = st.mode & 0o777;
  } catch (err) {
    if (err instanceof HubError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw fileError('ENCRYPTION_KEY_FILE_MISSING', `${CONFIG_KEY} ${file} does not exist; create it with \`node bin/hub.mjs keys init ${file}\` (and keep a copy: data sealed with it cannot be read without it)`);
    }
    throw fileError('ENCRYPTION_KEY_FILE_UNREADABLE', `cannot read ${CONFIG_KEY} ${file}: ${(err as Error).message}`);
  }
  if (mode & 0o077) {
    throw fileError('ENCRYPTION_KEY_FILE_TOO_OPEN', `${CONFIG_KEY} ${file} has mode 0${mode.toString(8)}: other users can read it; run \`chmod 600 ${file}\` (0600 or stricter)`);
  }
}

function decodeKey(value: unknown, what: string, file: string): Buffer {
  const text = typeof value === 'string' ? value : '';
  const key = Buffer.from(text, 'base64');
  if (!text || key.toString('base64') !== text.replace(/\s/g, '') || key.length !== KEY_BYTES) {
    throw fileError('ENCRYPTION_KEY_FILE_INVALID', `${CONFIG_KEY} ${file}: ${what} must be ${KEY_BYTES} bytes in base64`);
  }
  return key;
}

function parseKeyFile(text: string, file: string): KeyFileJson {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw fileError('ENCRYPTION_KEY_FILE_INVALID', `${CONFIG_KEY} ${file} is not JSON: ${(err as Error).message}`);
  }
  const j = json as Partial<KeyFileJson>;
  if (!j || typeof j !== 'object' || j.format !== KEY_FILE_FORMAT || typeof j.activeKey !== 'string' || !Array.isArray(j.keys) || !j.hashKey || typeof j.hashKey !== 'object') {
    throw fileError('ENCRYPTION_KEY_FILE_INVALID', `${CONFIG_KEY} ${file} is not a hub keyring (format "${KEY_FILE_FORMAT}" with activeKey, keys and hashKey)`);
  }
  return j as KeyFileJson;
}

/** Reads and checks a key file: existence, mode, format, key sizes. */
export function readKeyFile(file: string): Keyring {
  checkKeyFileMode(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw fileError('ENCRYPTION_KEY_FILE_UNREADABLE', `cannot read ${CONFIG_KEY} ${file}: ${(err as Error).message}`);
  }
  const j = parseKeyFile(text, file);
  return buildKeyring({
    activeKey: j.activeKey,
    keys: j.keys.map((k, i) => ({ id: String(k?.id ?? ''), key: decodeKey(k?.key, `keys[${i}].key`, file) })),
    hashKey: { id: String(j.hashKey.id ?? ''), key: decodeKey(j.hashKey.key, 'hashKey.key', file) },
  }, `${CONFIG_KEY} ${file}`);
}

export class FileKeyProvider implements KeyProvider {
  readonly source: string;

  constructor(private readonly file: string) {
    this.source = `${CONFIG_KEY} ${file}`;
  }

  async load(): Promise<Keyring> {
    return readKeyFile(this.file);
  }
}

const dated = (prefix: string, now: Date) => `${prefix}-${now.toISOString().slice(0, 10)}-${randomBytes(2).toString('hex')}`;

/** Writes a file readable by its owner only, whole or not at all (temporary file, fsync, rename). */
function writePrivate(file: string, text: string, exclusive: boolean): void {
  const temp = exclusive ? file : `${file}.tmp`;
  const fd = openSync(temp, exclusive ? 'wx' : 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (!exclusive) renameSync(temp, file);
}

/** A new key file with one data key and a hash key; refuses to overwrite one. */
export function createKeyFile(file: string, now = new Date()): { activeKey: string; hashKey: string } {
  const activeKey = dated('k', now);
  const hashKey = dated('h', now);
  const json: KeyFileJson = {
    format: KEY_FILE_FORMAT,
    activeKey,
    keys: [{ id: activeKey, key: randomBytes(KEY_BYTES).toString('base64'), createdAt: now.toISOString() }],
    hashKey: { id: hashKey, key: randomBytes(KEY_BYTES).toString('base64') },
  };
  try {
    writePrivate(file, `${JSON.stringify(json, null, 2)}\n`, true);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw fileError('ENCRYPTION_KEY_FILE_EXISTS', `${file} exists already; use \`hub keys add ${file}\` to add a key to it`);
    throw err;
  }
  return { activeKey, hashKey };
}

/**
 * Adds a new data key and makes it the active one: new data is sealed with it, data sealed with
 * the older keys still opens (`hub keys rotate` re-seals it, after which an old key may go).
 */
export function addKeyToFile(file: string, now = new Date()): { activeKey: string; previous: string } {
  checkKeyFileMode(file);
  const j = parseKeyFile(readFileSync(file, 'utf8'), file);
  const id = dated('k', now);
  const previous = j.activeKey;
  j.keys.push({ id, key: randomBytes(KEY_BYTES).toString('base64'), createdAt: now.toISOString() });
  j.activeKey = id;
  writePrivate(file, `${JSON.stringify(j, null, 2)}\n`, false);
  readKeyFile(file);
  return { activeKey: id, previous };
}

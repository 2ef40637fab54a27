import { HubError } from '../core/hubError.ts';
import type { FieldProtector } from '../store/fieldProtector.ts';
import { FieldCipher } from './fieldCipher.ts';
import { FileKeyProvider } from './keyFile.ts';
import { KeyedHash } from './keyedHash.ts';
import type { KeyProvider, Keyring } from './keyring.ts';
import { RecordSealer } from './recordSealing.ts';

/** `encryption:` in the config (schemas/config.schema.json). */
export interface EncryptionConfig {
  enabled: boolean;
  /** the JSON keyring (keyFile.ts), mode 0600 or stricter */
  keyFile?: string;
  /** resource types stored sealed, their string and token postings hashed */
  resourceTypes?: string[];
}

/** Stored sealed when `encryption.resourceTypes` is not given: the types that name and number people. */
export const DEFAULT_SEALED_TYPES = ['Patient', 'RelatedPerson', 'Person', 'Coverage', 'AuditEvent'];

/**
 * Encryption at rest for one process: the cipher and keyed hash over one keyring, and which
 * resource types are sealed. It is the FieldProtector the stores and the patient index take,
 * and what recordSealing.ts seals Kafka records with.
 */
export class DataProtection implements FieldProtector {
  readonly cipher: FieldCipher;
  readonly hash: KeyedHash;
  private readonly sealedTypes: ReadonlySet<string>;

  constructor(readonly keyring: Keyring, sealedTypes: readonly string[] = DEFAULT_SEALED_TYPES) {
    this.cipher = new FieldCipher(keyring);
    this.hash = new KeyedHash(keyring.hashKey);
    this.sealedTypes = new Set(sealedTypes);
  }

  sealsType(type: string): boolean {
    return this.sealedTypes.has(type);
  }

  seal(plain: Buffer, context: string): Buffer {
    return this.cipher.seal(plain, context);
  }

  open(sealed: Buffer, context: string): Buffer {
    return this.cipher.open(sealed, context);
  }

  keyedHash(domain: string, value: string): string {
    return this.hash.digest(domain, value);
  }

  /** Seals and opens Kafka records with the same keyring. */
  recordSealer(): RecordSealer {
    return new RecordSealer(this.cipher, this.hash);
  }
}

/**
 * The protection `encryption:` asks for, or undefined when it is off. Checked before anything
 * connects, so a missing, unreadable or too open key file stops the start naming the key.
 */
export async function loadDataProtection(config: EncryptionConfig | undefined, provider?: KeyProvider): Promise<DataProtection | undefined> {
  if (!config?.enabled) return undefined;
  if (!provider && !config.keyFile) {
    throw new HubError('ENCRYPTION_KEY_FILE_MISSING', 'encryption.enabled is true but encryption.keyFile is not set; create a key file with `node bin/hub.mjs keys init <file>` and name it there', { path: 'encryption.keyFile' });
  }
  const keyring = await (provider ?? new FileKeyProvider(config.keyFile!)).load();
  return new DataProtection(keyring, config.resourceTypes ?? DEFAULT_SEALED_TYPES);
}

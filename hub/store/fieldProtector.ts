import { Binary } from 'mongodb';
import { HubError } from '../core/hubError.ts';
import type { PostingValueHasher } from './postingKeys.ts';
import type { StoredResource } from './resourceStore.ts';

/**
 * Encryption at rest as the stores see it: whole values sealed (authenticated encryption bound
 * to a context such as `Patient/<id>`), searchable values replaced by keyed hashes. hub/crypto
 * builds it from the key file (encryption.enabled); stores take it as an option, and without it
 * they store everything in clear exactly as before. Reads open whatever they find sealed, so a
 * store started without the key refuses sealed data instead of serving ciphertext.
 */
export interface FieldProtector {
  /** resources of this type are stored sealed, and their string and token postings hashed */
  sealsType(type: string): boolean;
  seal(plain: Buffer, context: string): Buffer;
  open(sealed: Buffer, context: string): Buffer;
  /** equal for equal (domain, value); neither readable nor guessable without the hash key */
  keyedHash(domain: string, value: string): string;
}

export function sealBytes(protector: FieldProtector, plain: Buffer, context: string): Binary {
  return new Binary(protector.seal(plain, context));
}

export function openBytes(protector: FieldProtector | undefined, sealed: Binary, context: string): Buffer {
  if (!protector) {
    throw new HubError('STORE_SEALED_NO_KEY', `${context} is stored encrypted; start with encryption.enabled and the encryption.keyFile it was written with`);
  }
  return protector.open(Buffer.from(sealed.buffer), context);
}

export function sealJson(protector: FieldProtector, value: unknown, context: string): Binary {
  return sealBytes(protector, Buffer.from(JSON.stringify(value), 'utf8'), context);
}

export function openJson<T>(protector: FieldProtector | undefined, sealed: Binary, context: string): T {
  return JSON.parse(openBytes(protector, sealed, context).toString('utf8')) as T;
}

/** How a store's postings hash their values; undefined (clear postings) without encryption. */
export function postingHasherOf(protector: FieldProtector | undefined): PostingValueHasher | undefined {
  if (!protector) return undefined;
  return {
    hashes: (type) => protector.sealsType(type),
    hash: (type, family, value) => protector.keyedHash(`posting|${type}|${family}`, value),
  };
}

/** The content hash of a sealed type is keyed; other types keep the plain SHA-256 (undefined). */
export function contentDigestOf(protector: FieldProtector | undefined, type: string): ((canonical: string) => string) | undefined {
  return protector?.sealsType(type) ? (canonical) => protector.keyedHash('content', canonical) : undefined;
}

/** The document form of a resource at rest: `resource` in clear, or `sealed` in its place. */
export interface ResourceDocFields {
  resource: StoredResource;
  sealed?: Binary;
}

/**
 * The document as stored: a resource of a sealed type goes into `sealed` (bound to `Type/id`)
 * and its `resource` field is left out, so nothing but ids, versions and times stays in clear.
 */
export function sealResourceDoc<D extends ResourceDocFields>(doc: D, protector: FieldProtector | undefined): D {
  const { resource } = doc;
  if (!protector?.sealsType(resource.resourceType)) return doc;
  const { resource: _clear, ...rest } = doc;
  return { ...rest, sealed: sealJson(protector, resource, `${resource.resourceType}/${resource.id}`) } as unknown as D;
}

/** The document with its resource readable: opened when sealed, as it is otherwise. */
export function openResourceDoc<D extends Partial<ResourceDocFields>>(type: string, id: string, doc: D, protector: FieldProtector | undefined): D & ResourceDocFields {
  if (!doc.sealed) return doc as D & ResourceDocFields;
  const { sealed, ...rest } = doc;
  return { ...rest, resource: openJson<StoredResource>(protector, sealed, `${type}/${id}`) } as D & ResourceDocFields;
}

import { createHash } from 'node:crypto';

/** Canonical JSON: keys sorted, so equal content hashes equal whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj).sort().filter((k) => obj[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * Hash of a resource's content. Version, timestamp and meta.source (which names the message)
 * change with every delivery, so they are left out: an identical resend changes nothing. Tags
 * (the mapping version) stay in, so a mapping change is a new version. A sealed resource's hash
 * is keyed (`digest`, hub/crypto): a plain SHA-256 beside it would let anyone confirm a guess
 * of its content.
 */
export function resourceContentHash(resource: Record<string, unknown>, digest: (canonical: string) => string = sha256): string {
  const { meta, ...content } = resource;
  const { versionId: _v, lastUpdated: _l, source: _s, ...restMeta } = (meta ?? {}) as Record<string, unknown>;
  return digest(canonicalJson({ ...content, meta: restMeta }));
}

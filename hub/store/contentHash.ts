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

/**
 * Hash of a resource's content. Version, timestamp and meta.source (which names the message)
 * change with every delivery, so they are left out: an identical resend changes nothing. Tags
 * (the mapping version) stay in, so a mapping change is a new version.
 */
export function resourceContentHash(resource: Record<string, unknown>): string {
  const { meta, ...content } = resource;
  const { versionId: _v, lastUpdated: _l, source: _s, ...restMeta } = (meta ?? {}) as Record<string, unknown>;
  return createHash('sha256').update(canonicalJson({ ...content, meta: restMeta })).digest('hex');
}

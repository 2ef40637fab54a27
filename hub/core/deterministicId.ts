import { createHash } from 'node:crypto';

/**
 * Resource ids derived from what identifies the thing at its source, so replaying a message
 * yields the same ids. Every part is length-prefixed before hashing: joining with a separator
 * alone lets ("a|b","c") and ("a","b|c") collide, and leaving out the assigning authority lets
 * two patients with the same MRN at different hospitals overwrite each other.
 */
export function deterministicId(...parts: ReadonlyArray<string | number | null | undefined>): string {
  const hash = createHash('sha256');
  for (const part of parts) {
    const text = part === null || part === undefined ? '\u0000' : String(part);
    hash.update(`${Buffer.byteLength(text)}:`);
    hash.update(text);
  }
  // 128 bits of SHA-256 in lowercase hex: 32 chars, valid as a FHIR id ([A-Za-z0-9\-\.]{1,64}).
  return hash.digest('hex').slice(0, 32);
}

import { gunzipSync, inflateSync } from 'node:zlib';

export type Decoded = { ok: true; body: Buffer } | { ok: false; status: 413 | 415 | 400; message: string };

/**
 * Undoes a request's Content-Encoding (gzip, deflate), holding the decoded size to `limit` so
 * a small compressed body cannot expand past what the connector accepts.
 */
export function decodeContent(body: Buffer, encoding: string | undefined, limit: number): Decoded {
  const name = (encoding ?? 'identity').trim().toLowerCase();
  if (name === 'identity' || name === '') return { ok: true, body };
  const inflate = name === 'gzip' || name === 'x-gzip' ? gunzipSync : name === 'deflate' ? inflateSync : undefined;
  if (!inflate) return { ok: false, status: 415, message: `content encoding "${name}" is not supported; send gzip, deflate or none` };
  try {
    return { ok: true, body: inflate(body, { maxOutputLength: limit }) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      return { ok: false, status: 413, message: `the ${name} body expands beyond the ${limit}-byte limit` };
    }
    return { ok: false, status: 400, message: `the body is not valid ${name}: ${(err as Error).message}` };
  }
}

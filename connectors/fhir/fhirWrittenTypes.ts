import type { CheckedFhirInput, JsonObject } from './fhirInputCheck.ts';

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The resource types an input asks the hub to write, each with the path that names it: the
 * resource itself, or every entry of a Bundle (the Bundle is only the envelope), a DELETE entry
 * by the type in its request URL. A sender's write scopes must cover all of them.
 */
export function fhirWrittenTypes(input: CheckedFhirInput): Array<{ type: string; path: string }> {
  if (input.resourceType !== 'Bundle') return [{ type: input.resourceType, path: input.resourceType }];
  const entries = Array.isArray(input.resource.entry) ? input.resource.entry : [];
  const out: Array<{ type: string; path: string }> = [];
  for (const [i, entry] of entries.entries()) {
    if (!isObject(entry)) continue;
    const at = `Bundle.entry[${i}]`;
    if (isObject(entry.resource) && typeof entry.resource.resourceType === 'string') {
      out.push({ type: entry.resource.resourceType, path: `${at}.resource` });
    } else if (isObject(entry.request) && typeof entry.request.url === 'string') {
      out.push({ type: entry.request.url.replace(/^\//, '').split(/[/?]/)[0] ?? '', path: `${at}.request.url` });
    }
  }
  return out;
}

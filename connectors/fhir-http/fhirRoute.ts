import type { ExpectedTarget } from '../fhir/fhirInputCheck.ts';
import { FHIR_ID } from '../../hub/core/fhirId.ts';

export type FhirRoute =
  | { kind: 'input'; expect?: ExpectedTarget }
  | { kind: 'health' }
  | { kind: 'metadata' }
  | { kind: 'method-not-allowed'; allow: string }
  | { kind: 'not-found'; pathname: string };

const TYPE = /^[A-Z][A-Za-z]{1,63}$/;
const ID = FHIR_ID;

/**
 * What a request to the FHIR push listener asks for: `POST {base}` (a resource or Bundle),
 * `POST {base}/{Type}` (create), `PUT {base}/{Type}/{id}` (update), `GET {base}` (health),
 * `GET {base}/metadata` (the CapabilityStatement clients such as HAPI's fetch before writing).
 */
export function fhirRouteOf(method: string, pathname: string, base: string): FhirRoute {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
  const root = base.length > 1 ? base.replace(/\/+$/, '') : '';
  if (path === (root || '/')) {
    if (method === 'POST') return { kind: 'input' };
    if (method === 'GET' || method === 'HEAD') return { kind: 'health' };
    return { kind: 'method-not-allowed', allow: 'GET, POST' };
  }
  if (!path.startsWith(`${root}/`)) return { kind: 'not-found', pathname };
  if (path === `${root}/metadata`) return method === 'GET' || method === 'HEAD' ? { kind: 'metadata' } : { kind: 'method-not-allowed', allow: 'GET' };
  let parts: string[];
  try {
    parts = path.slice(root.length + 1).split('/').map((p) => decodeURIComponent(p));
  } catch {
    return { kind: 'not-found', pathname };
  }
  const [type, id] = parts;
  if (parts.length === 1 && type && TYPE.test(type)) {
    return method === 'POST' ? { kind: 'input', expect: { resourceType: type } } : { kind: 'method-not-allowed', allow: 'POST' };
  }
  if (parts.length === 2 && type && id && TYPE.test(type) && ID.test(id)) {
    return method === 'PUT' ? { kind: 'input', expect: { resourceType: type, id } } : { kind: 'method-not-allowed', allow: 'PUT' };
  }
  return { kind: 'not-found', pathname };
}

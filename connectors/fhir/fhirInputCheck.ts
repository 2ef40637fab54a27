import { HubError } from '../../hub/core/hubError.ts';
import { unstorableValueError } from '../../hub/store/storableJson.ts';
import { isR4ResourceType } from './r4ResourceTypes.ts';

export type JsonObject = Record<string, unknown>;

/** What intake learned about an input that passed the cheap checks. */
export interface CheckedFhirInput {
  resource: JsonObject;
  resourceType: string;
  /** `transaction`, `batch`, ... for a Bundle */
  bundleType?: string;
  /** resources carried: the entries of a Bundle, 1 otherwise */
  resourceCount: number;
}

/**
 * Why intake refused an input. 400: it cannot be read as FHIR JSON at all, holds a value the
 * store refuses (a number beyond JSON's range such as 1e400, NUL, a `$` or dotted key), or
 * contradicts the URL it was PUT to; 422: it is FHIR JSON the hub cannot process (unknown type, a Bundle type
 * or entry it cannot take). `error.detail.path` names where, e.g. `Bundle.entry[3].resource`.
 */
export interface FhirInputProblem {
  status: 400 | 422;
  error: HubError;
}

/** Bundle types a sender may push: the ones that carry data to store, not search or response results. */
export const ACCEPTED_BUNDLE_TYPES = ['batch', 'transaction', 'collection', 'message'] as const;

/** What the URL an input was sent to says it is: `<Type>` of a create, `<Type>/<id>` of an update. */
export interface ExpectedTarget {
  resourceType: string;
  id?: string;
}

export interface FhirInputCheckOptions {
  /** Bundle types accepted; defaults to ACCEPTED_BUNDLE_TYPES */
  bundleTypes?: readonly string[];
  expect?: ExpectedTarget;
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

const problem = (status: 400 | 422, code: string, message: string, path?: string): { ok: false; problem: FhirInputProblem } =>
  ({ ok: false, problem: { status, error: new HubError(code, message, path ? { path } : {}) } });

/**
 * The cheap checks a FHIR connector makes before it writes an input to Kafka: UTF-8, JSON, an
 * object with a known R4 resourceType, only values the store can hold, and for a Bundle an accepted type whose entries each
 * carry a resource of a known type. Deeper validation is the normalizer's job, after Kafka.
 */
export function checkFhirInput(raw: Buffer, options: FhirInputCheckOptions = {}): { ok: true; input: CheckedFhirInput } | { ok: false; problem: FhirInputProblem } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    return problem(400, 'FHIR_DECODE_FAILED', 'the body is not valid UTF-8 (FHIR JSON is always UTF-8)');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    return problem(400, 'FHIR_JSON_INVALID', `the body is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(parsed)) return problem(400, 'FHIR_JSON_INVALID', 'the body is JSON but not an object; expected a FHIR resource or Bundle');
  const type = parsed.resourceType;
  if (typeof type !== 'string' || type === '') return problem(400, 'FHIR_RESOURCE_TYPE_MISSING', 'the body has no resourceType', 'resourceType');
  if (!isR4ResourceType(type)) return problem(422, 'FHIR_RESOURCE_TYPE_UNKNOWN', `"${type}" is not a FHIR R4 resource type`, 'resourceType');
  // Accepted, such a value would fail every store attempt; refused here, the sender learns where it is.
  const unstorable = unstorableValueError(parsed, type);
  if (unstorable) return { ok: false, problem: { status: 400, error: unstorable } };

  const expect = options.expect;
  if (expect) {
    if (type !== expect.resourceType) {
      return problem(400, 'FHIR_TYPE_MISMATCH', `the body is a ${type} but the URL names ${expect.resourceType}`, `${type}.resourceType`);
    }
    if (expect.id !== undefined && parsed.id !== expect.id) {
      const found = typeof parsed.id === 'string' ? `"${parsed.id}"` : 'no id';
      return problem(400, 'FHIR_ID_MISMATCH', `the body has ${found} but the URL names ${expect.resourceType}/${expect.id}; an update must carry the id it is sent to`, `${type}.id`);
    }
  }
  if (type !== 'Bundle') return { ok: true, input: { resource: parsed, resourceType: type, resourceCount: 1 } };

  const accepted = options.bundleTypes ?? ACCEPTED_BUNDLE_TYPES;
  const bundleType = parsed.type;
  if (typeof bundleType !== 'string' || !accepted.includes(bundleType)) {
    return problem(422, 'FHIR_BUNDLE_TYPE_UNSUPPORTED', `Bundle.type is ${typeof bundleType === 'string' ? `"${bundleType}"` : 'missing'}; accepted: ${accepted.join(', ')}`, 'Bundle.type');
  }
  const entries = parsed.entry;
  if (entries !== undefined && !Array.isArray(entries)) return problem(422, 'FHIR_BUNDLE_ENTRY_INVALID', 'Bundle.entry is not an array', 'Bundle.entry');
  const list = entries ?? [];
  if (list.length === 0) return problem(422, 'FHIR_BUNDLE_EMPTY', 'the Bundle has no entries; nothing to ingest', 'Bundle.entry');
  for (const [i, entry] of list.entries()) {
    const at = `Bundle.entry[${i}]`;
    if (!isObject(entry)) return problem(422, 'FHIR_BUNDLE_ENTRY_INVALID', `${at} is not an object`, at);
    const request = isObject(entry.request) ? entry.request : undefined;
    // A DELETE in a transaction carries no resource; the normalizer decides what to do with it.
    if (request?.method === 'DELETE' && entry.resource === undefined) continue;
    const resource = entry.resource;
    if (!isObject(resource)) return problem(422, 'FHIR_BUNDLE_ENTRY_INVALID', `${at}.resource is missing`, `${at}.resource`);
    const entryType = resource.resourceType;
    if (typeof entryType !== 'string' || entryType === '') return problem(422, 'FHIR_RESOURCE_TYPE_MISSING', `${at}.resource has no resourceType`, `${at}.resource.resourceType`);
    if (!isR4ResourceType(entryType)) return problem(422, 'FHIR_RESOURCE_TYPE_UNKNOWN', `${at}.resource: "${entryType}" is not a FHIR R4 resource type`, `${at}.resource.resourceType`);
  }
  return { ok: true, input: { resource: parsed, resourceType: type, bundleType, resourceCount: list.length } };
}

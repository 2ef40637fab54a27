import { randomUUID } from 'node:crypto';
import type { JsonObject } from './fhirInputCheck.ts';

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const nonEmpty = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * The control id an input is logged under downstream. Like what the FHIR normalizer would derive
 * itself (the MessageHeader of a message, the Bundle id, the first entry's id), so a resend of
 * the same input is recognised; a single resource is `Type/id` so equal ids of two types differ.
 * Only an input that names nothing gets a fresh UUID: without one, id-less resources of
 * different inputs would be given the same hub id.
 */
export function fhirControlIdOf(resource: JsonObject): string {
  if (resource.resourceType !== 'Bundle') {
    const id = nonEmpty(resource.id);
    return id ? `${String(resource.resourceType)}/${id}` : randomUUID();
  }
  const first = Array.isArray(resource.entry) && isObject(resource.entry[0]) && isObject(resource.entry[0].resource) ? resource.entry[0].resource : undefined;
  if (resource.type === 'message' && first?.resourceType === 'MessageHeader' && nonEmpty(first.id)) return first.id as string;
  return nonEmpty(resource.id) ?? nonEmpty(first?.id) ?? randomUUID();
}

import type { Resource } from 'fhir/r4.js';
import type { SummaryMode } from './searchRequest.ts';

/**
 * `_summary` and `_elements`: the parts of a resource a client asked for, marked SUBSETTED as
 * FHIR requires so nobody mistakes a partial resource for the whole.
 */
const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED', display: 'subsetted' };

/** Elements FHIR R4 flags isSummary on the resource types we serve (union; absent ones are skipped). */
const SUMMARY_ELEMENTS = new Set([
  'identifier', 'active', 'name', 'telecom', 'gender', 'birthDate', 'deceasedBoolean', 'deceasedDateTime', 'address',
  'managingOrganization', 'generalPractitioner', 'link', 'status', 'class', 'type', 'serviceType', 'priority', 'subject',
  'period', 'length', 'reasonCode', 'diagnosis', 'location', 'serviceProvider', 'participant', 'partOf', 'code', 'category',
  'effectiveDateTime', 'effectivePeriod', 'effectiveInstant', 'issued', 'valueQuantity', 'valueCodeableConcept', 'valueString',
  'basedOn', 'encounter', 'performer', 'result', 'conclusion', 'conclusionCode', 'patient', 'clinicalStatus',
  'verificationStatus', 'criticality', 'onsetDateTime', 'recordedDate', 'start', 'end', 'appointmentType', 'intent',
  'authoredOn', 'requester', 'occurrenceDateTime', 'occurrencePeriod', 'started', 'modality', 'numberOfSeries',
  'numberOfInstances', 'vaccineCode', 'date', 'description', 'accessionIdentifier', 'collection',
]);

const ALWAYS = new Set(['resourceType', 'id', 'meta']);

function markSubsetted(r: Record<string, unknown>): void {
  const meta = (r.meta ?? {}) as { tag?: unknown[] };
  r.meta = { ...meta, tag: [...(meta.tag ?? []), SUBSETTED] };
}

function keep(resource: Resource, wanted: (key: string) => boolean): Resource {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(resource)) if (ALWAYS.has(k) || wanted(k)) out[k] = v;
  markSubsetted(out);
  return out as unknown as Resource;
}

export function viewOf(resource: Resource, summary: SummaryMode | undefined, elements: string[] | undefined): Resource {
  if (elements && elements.length > 0) {
    const set = new Set(elements.map((e) => e.replace(/^[A-Z][A-Za-z]+\./, '')));
    return keep(resource, (k) => set.has(k));
  }
  switch (summary) {
    case 'true': return keep(resource, (k) => SUMMARY_ELEMENTS.has(k));
    case 'text': return keep(resource, (k) => k === 'text');
    case 'data': return keep(resource, (k) => k !== 'text');
    default: return resource;
  }
}

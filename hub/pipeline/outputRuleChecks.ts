import type { Resource } from 'fhir/r4.js';
import { fhirProblems } from './fhirSchemaValidator.ts';

/**
 * The checks a mapped output must pass as a whole, beyond each resource's schema: ids unique,
 * every reference resolves inside the output, no resource without content. Used by golden tests
 * and by `hub mapping test`, so both judge an output the same way.
 */
export function outputRuleViolations(resources: readonly Resource[]): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  for (const r of resources) {
    const label = `${r.resourceType}/${r.id}`;
    if (!r.id) problems.push(`${r.resourceType} has no id`);
    if (ids.has(label)) problems.push(`duplicate id ${label}`);
    ids.add(label);
  }
  for (const r of resources) {
    const label = `${r.resourceType}/${r.id}`;
    if (Object.keys(r).every((k) => k === 'resourceType' || k === 'id' || k === 'meta')) problems.push(`${label} is empty`);
    for (const ref of references(r)) {
      if (!ids.has(ref)) problems.push(`${label}: reference ${ref} does not resolve inside the output`);
    }
    for (const p of fhirProblems(r)) problems.push(`${label}: ${p.path}: ${p.message}`);
  }
  return problems;
}

function references(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => references(v, out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (k === 'reference' && typeof v === 'string') out.push(v);
      else references(v, out);
    }
  }
  return out;
}

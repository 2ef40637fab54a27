import { expect } from 'chai';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Resource } from 'fhir/r4.js';
import { PROJECT_ROOT } from '../../../hub/core/schemaValidator.ts';
import { fhirProblems } from '../../../hub/pipeline/fhirSchemaValidator.ts';

/**
 * The rule checks every golden test runs besides the value diff: ids unique, every reference
 * resolves inside the output, no empty resources or elements, and each resource valid against
 * the official FHIR R4 schema plus the pipeline's cheap invariants (the same validator the
 * pipeline uses, so a golden test fails on what production would dead-letter).
 */
export function goldenRuleViolations(resources: readonly Resource[]): string[] {
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

/**
 * Rule checks, then a comparison with the reviewed golden file. UPDATE_GOLDEN=1 (re)writes the
 * file instead; a missing golden file fails rather than silently passing.
 */
export function expectMatchesGolden(goldenFile: string, actual: { resources: readonly Resource[]; [extra: string]: unknown }): void {
  expect(goldenRuleViolations(actual.resources), 'golden rule violations').to.deep.equal([]);
  const relative = path.relative(PROJECT_ROOT, goldenFile);
  if (process.env.UPDATE_GOLDEN === '1') {
    writeFileSync(goldenFile, `${JSON.stringify(actual, null, 2)}\n`);
    return;
  }
  if (!existsSync(goldenFile)) throw new Error(`no golden file ${relative}; run with UPDATE_GOLDEN=1 and review it`);
  expect(JSON.parse(JSON.stringify(actual)), `differs from ${relative}`).to.deep.equal(JSON.parse(readFileSync(goldenFile, 'utf8')));
}

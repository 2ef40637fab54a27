import { expect } from 'chai';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Resource } from 'fhir/r4.js';
import { PROJECT_ROOT } from '../../../hub/core/schemaValidator.ts';
import { outputRuleViolations } from '../../../hub/pipeline/outputRuleChecks.ts';

/**
 * The rule checks every golden test runs besides the value diff (ids unique, every reference
 * resolves inside the output, no empty resources or elements, FHIR R4 schema and invariants):
 * the same checks `hub mapping test` runs and the same validator the pipeline uses, so a golden
 * test fails on what production would dead-letter.
 */
export const goldenRuleViolations = outputRuleViolations;

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

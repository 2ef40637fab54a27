import { expect } from 'chai';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Resource } from 'fhir/r4.js';
import { PROJECT_ROOT } from '../../../hub/core/schemaValidator.ts';
import { parseHl7 } from '../../../hub/hl7v2/hl7Parser.ts';
import { mapHl7Message, type MappingOutput } from '../../../hub/mapping/mappingEngine.ts';
import { readMappings } from '../../../hub/mapping/mappingLoader.ts';
import type { MappingRegistry } from '../../../hub/mapping/mappingRegistry.ts';
import { outputRuleViolations } from '../../../hub/pipeline/outputRuleChecks.ts';

/** Golden-file support for the LIS, PACS, scheduling, document, immunization and FHIR-input mapping tests: fixtures under test/fixtures/mapping/<area>/. */

export const FIXTURES = path.join(PROJECT_ROOT, 'test', 'fixtures', 'mapping');
export const SETTINGS = { timeZone: 'Asia/Shanghai', identifierSystemBase: 'urn:hub:identifier' };

let registry: MappingRegistry | undefined;
export function shippedRegistry(): MappingRegistry {
  if (!registry) {
    const loaded = readMappings(path.join(PROJECT_ROOT, 'mappings'));
    if (loaded.problems.length) throw new Error(`mapping problems: ${JSON.stringify(loaded.problems)}`);
    registry = loaded.registry;
  }
  return registry;
}

export function fixtureText(area: string, name: string): string {
  return readFileSync(path.join(FIXTURES, area, name), 'utf8');
}

export function mapText(text: string, sourceSystem = 'LIS'): MappingOutput {
  return mapHl7Message(parseHl7(text), { sourceSystem, connectorId: `${sourceSystem.toLowerCase()}-feed`, receivedAt: '2026-11-23T00:00:00.000Z' }, shippedRegistry(), SETTINGS);
}

export function resourcesOf<T extends Resource>(out: MappingOutput, type: T['resourceType']): T[] {
  return out.resources.map((r) => r.resource).filter((r): r is T & { id: string } => r.resourceType === type);
}

/**
 * The output must pass the rule checks and equal the reviewed golden file next to the message
 * (`<name>.expected.json`). UPDATE_GOLDEN=1 rewrites the file instead, for intended changes.
 */
export function expectGolden(area: string, name: string, out: { resources: ReadonlyArray<{ resource: Resource }> }): void {
  const resources = out.resources.map((r) => r.resource);
  expect(outputRuleViolations(resources), 'golden rule violations').to.deep.equal([]);
  const file = path.join(FIXTURES, area, name.replace(/\.(hl7|json)$/, '.expected.json'));
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) {
    if (process.env.UPDATE_GOLDEN !== '1') throw new Error(`no golden file ${path.relative(PROJECT_ROOT, file)}; run with UPDATE_GOLDEN=1 and review it`);
    writeFileSync(file, `${JSON.stringify(resources, null, 2)}\n`);
    return;
  }
  const expected = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  expect(resources, `differs from ${path.relative(PROJECT_ROOT, file)}`).to.deep.equal(expected);
}

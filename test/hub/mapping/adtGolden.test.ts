import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Resource } from 'fhir/r4.js';
import { PROJECT_ROOT } from '../../../hub/core/schemaValidator.ts';
import { parseHl7 } from '../../../hub/hl7v2/hl7Parser.ts';
import { mapHl7Message } from '../../../hub/mapping/mappingEngine.ts';
import { readMappings } from '../../../hub/mapping/mappingLoader.ts';
import { expectMatchesGolden, goldenRuleViolations } from './goldenRules.ts';

const ADT = path.join(PROJECT_ROOT, 'test', 'fixtures', 'mapping', 'adt');
const SETTINGS = { timeZone: 'Asia/Shanghai', identifierSystemBase: 'urn:hub:identifier' };
const ORIGIN = { sourceSystem: 'HIS', connectorId: 'his-adt', receivedAt: '2026-11-23T00:00:00.000Z' };

describe('ADT golden files', () => {
  const { registry, problems } = readMappings(path.join(PROJECT_ROOT, 'mappings'));
  const messages = readdirSync(ADT).filter((f) => f.endsWith('.hl7')).sort();

  it('has a fixture for every ADT trigger the issue names, plus A37', () => {
    expect(problems).to.deep.equal([]);
    const triggers = new Set(messages.map((f) => /a(\d\d)/i.exec(f)?.[1]).filter(Boolean).map((n) => `A${n}`));
    for (const t of ['A01', 'A02', 'A03', 'A04', 'A05', 'A06', 'A07', 'A08', 'A11', 'A12', 'A13', 'A28', 'A31', 'A37', 'A40', 'A47']) {
      expect(triggers.has(t), `fixture for ${t}`).to.equal(true);
    }
  });

  for (const name of messages) {
    it(`${name} maps to its golden output and passes the rule checks`, () => {
      const out = mapHl7Message(parseHl7(readFileSync(path.join(ADT, name), 'utf8')), ORIGIN, registry, SETTINGS);
      expectMatchesGolden(path.join(ADT, name.replace(/\.hl7$/, '.expected.json')), {
        mapping: `${out.mappingId}@${out.mappingVersion}`,
        ...(out.eventTime ? { eventTime: out.eventTime } : {}),
        ...(out.directives ? { directives: out.directives } : {}),
        resources: out.resources.map((r) => r.resource),
      });
    });
  }

  it('the rule checks catch a dangling reference, a duplicate id, an empty element and a schema error', () => {
    const violations = goldenRuleViolations(([
      { resourceType: 'Patient', id: 'p1', gender: 'male' },
      { resourceType: 'Patient', id: 'p1', gender: 'female' },
      { resourceType: 'Encounter', id: 'e1', status: 'finished', class: { code: 'IMP' }, subject: { reference: 'Patient/nowhere' } },
      { resourceType: 'Condition', id: 'c1', subject: { reference: 'Patient/p1' }, note: [] },
      { resourceType: 'Patient', id: 'p2', gender: 'man' },
    ] as unknown) as Resource[]);
    expect(violations.join('\n')).to.match(/duplicate id Patient\/p1/)
      .and.to.match(/Encounter\/e1: reference Patient\/nowhere does not resolve/)
      .and.to.match(/Condition\/c1: Condition\.note: is empty/)
      .and.to.match(/Patient\/p2: Patient\.gender: must be one of/);
  });
});

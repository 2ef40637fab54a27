import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Patient } from 'fhir/r4.js';
import { PROJECT_ROOT } from '../../../hub/core/schemaValidator.ts';
import { parseHl7 } from '../../../hub/hl7v2/hl7Parser.ts';
import { mapHl7Message } from '../../../hub/mapping/mappingEngine.ts';
import { readMappings } from '../../../hub/mapping/mappingLoader.ts';
import { goldenRuleViolations } from './goldenRules.ts';

const MAPPINGS = path.join(PROJECT_ROOT, 'mappings');
const SETTINGS = { timeZone: 'Asia/Shanghai', identifierSystemBase: 'urn:hub:identifier' };
const ORIGIN = { sourceSystem: 'HIS', connectorId: 'his-adt', receivedAt: '2026-11-23T00:00:00.000Z' };
const admitWithZpi = readFileSync(path.join(PROJECT_ROOT, 'test', 'fixtures', 'mapping', 'adt', 'adt-a01-admit.hl7'), 'utf8')
  .replace(/(\rPD1\|)/, '\rZPI|1|Y|SH3101-88776655$1');

function mapWith(site: string | undefined, text = admitWithZpi) {
  const { registry, problems } = readMappings(MAPPINGS, site);
  expect(problems).to.deep.equal([]);
  const out = mapHl7Message(parseHl7(text), ORIGIN, registry, SETTINGS);
  return { out, patient: out.resources.find((r) => r.resource.resourceType === 'Patient')!.resource as Patient };
}

describe('Site overrides (mappings/sites/renji)', () => {
  it('adds the hospital Z-segment fields to the Patient', () => {
    const { patient, out } = mapWith('renji');
    expect(patient.extension).to.deep.equal([{ url: 'https://fhir.renji.example.cn/StructureDefinition/vip', valueBoolean: true }]);
    expect(patient.identifier?.at(-1)).to.deep.equal({ system: 'https://fhir.renji.example.cn/identifier/insurance-card', value: 'SH3101-88776655', type: { text: 'medical insurance card' } });
    expect(goldenRuleViolations(out.resources.map((r) => r.resource))).to.deep.equal([]);
  });

  it('uses the hospital identifier systems and keeps every base identifier and element', () => {
    const base = mapWith(undefined).patient;
    const site = mapWith('renji').patient;
    expect(site.identifier?.map((i) => i.value)).to.deep.equal([...base.identifier!.map((i) => i.value), 'SH3101-88776655']);
    expect(site.identifier?.[0]?.system).to.equal('https://fhir.renji.example.cn/identifier/mrn');
    expect(site.identifier?.[1]?.system).to.equal('urn:oid:2.16.156.10011.1.1');
    const { extension: _e, identifier: _si, ...siteRest } = site;
    const { identifier: _bi, ...baseRest } = base;
    expect({ ...siteRest, meta: undefined }).to.deep.equal({ ...baseRest, meta: undefined });
  });

  it('keeps resource ids, so a site switch updates the same records', () => {
    expect(mapWith('renji').out.resources.map((r) => r.resource.id)).to.deep.equal(mapWith(undefined).out.resources.map((r) => r.resource.id));
  });

  it('records the site in the mapping version (lineage) and leaves the base untouched without it', () => {
    expect(mapWith('renji').patient.meta?.tag?.[0]?.version).to.equal('2+renji');
    expect(mapWith(undefined).patient.meta?.tag?.[0]?.version).to.equal('2');
    expect(mapWith(undefined).patient.extension).to.equal(undefined);
  });

  it('the site files state only their differences, not copies of the base files', () => {
    const site = readFileSync(path.join(MAPPINGS, 'sites', 'renji', 'hl7v2', 'segments', 'PID-Patient.yaml'), 'utf8');
    expect(site).to.contain('extends: base');
    for (const baseField of ['name:', 'birthDate:', 'address:', 'PID-3']) expect(site).to.not.contain(baseField);
  });
});

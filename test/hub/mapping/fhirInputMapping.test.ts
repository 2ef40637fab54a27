import { expect } from 'chai';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Condition, Encounter, Observation, Patient, Resource } from 'fhir/r4.js';
import { PROJECT_ROOT } from '../../../hub/core/schemaValidator.ts';
import { isHubError } from '../../../hub/core/hubError.ts';
import { readMappings } from '../../../hub/mapping/mappingLoader.ts';
import { mapFhirInput, type FhirMappingOutput } from '../../../hub/pipeline/fhirInputMapping.ts';
import { fhirInputRules } from '../../../hub/pipeline/fhirInputRules.ts';
import { expectGolden, fixtureText, SETTINGS, shippedRegistry } from './fhirGolden.ts';

const TX = 'transaction-patient-encounter-observation.json';
const rules = () => fhirInputRules(shippedRegistry());
const input = (name: string): unknown => JSON.parse(fixtureText('fhir', name));
const map = (value: unknown, sourceSystem = 'EMR') => mapFhirInput(value, { sourceSystem }, rules(), SETTINGS);
const ofType = <T extends Resource>(out: FhirMappingOutput, type: string) => out.resources.map((r) => r.resource).filter((r) => r.resourceType === type) as unknown as T[];

describe('FHIR input normalisation (mappings/fhir)', () => {
  it('normalises a transaction Bundle: hub ids, references rewritten inside the bundle, our systems (golden)', () => {
    const out = map(input(TX));
    expectGolden('fhir', TX, out);
    const [patient] = ofType<Patient>(out, 'Patient');
    const [encounter] = ofType<Encounter>(out, 'Encounter');
    const [observation] = ofType<Observation>(out, 'Observation');
    expect(encounter!.subject).to.deep.equal({ reference: `Patient/${patient!.id}` });
    expect(observation!.subject).to.deep.equal({ reference: `Patient/${patient!.id}` });
    expect(observation!.encounter).to.deep.equal({ reference: `Encounter/${encounter!.id}` });
    expect(patient!.identifier![0]!.system).to.equal('urn:oid:2.16.840.1.113883.19.5');
    expect(observation!.code.coding![0]!.system).to.equal('http://loinc.org');
    expect(out.patient).to.equal(`Patient/${patient!.id}`);
    expect(out.resources.map((r) => r.resource.id)).to.not.include.members(['p-778', 'e-9']);
  });

  it('records lineage and claims the hub profile while keeping upstream profiles', () => {
    const out = map(input(TX));
    const [patient] = ofType<Patient>(out, 'Patient');
    expect(patient!.meta!.source).to.equal('urn:hub:identifier/source/EMR#upstream-tx-0001');
    expect(patient!.meta!.tag).to.deep.equal([{ system: 'urn:hub:mapping', code: 'fhir/codemaps', version: rules().version }]);
    expect(patient!.meta!.profile).to.deep.equal(['http://example.org/fhir/StructureDefinition/upstream-patient', 'urn:hub:profile/Patient']);
    expect(out.resources.find((r) => r.resource.resourceType === 'Patient')!.sourceTime).to.equal('2026-11-23T00:55:00.000Z');
    expect(out.resources.find((r) => r.resource.resourceType === 'Encounter')!.sourceTime).to.equal('2026-11-23T01:00:00.000Z');
    expect(out.eventTime).to.equal('2026-11-23T01:00:00.000Z');
  });

  it('keeps a reference to something outside the input as a logical reference, and skips DELETE entries, with warnings', () => {
    const out = map(input(TX));
    const [patient] = ofType<Patient>(out, 'Patient');
    expect(patient!.generalPractitioner).to.deep.equal([{ display: 'Dr Li', type: 'Practitioner', identifier: { system: 'urn:hub:identifier/EMR/Practitioner-id', value: 'gp-1' } }]);
    expect(out.warnings.some((w) => w.includes('"Practitioner/gp-1" is not in this input'))).to.equal(true);
    expect(out.warnings.some((w) => w.includes('DELETE Observation/old-1 not applied'))).to.equal(true);
  });

  it('gives the same patient the same id whichever upstream id or message carries it (identity from the MRN)', () => {
    const fromTx = ofType<Patient>(map(input(TX)), 'Patient')[0]!.id;
    const fromSearch = ofType<Patient>(map(input('searchset-absolute-urls.json')), 'Patient')[0]!.id;
    const renamed = input(TX) as { entry: Array<{ resource: { id?: string } }> };
    renamed.entry[0]!.resource.id = 'another-upstream-id';
    expect(fromSearch).to.equal(fromTx);
    expect(ofType<Patient>(map(renamed), 'Patient')[0]!.id).to.equal(fromTx);
  });

  it('keeps apart equal MRNs from different assigning authorities and from different source systems', () => {
    const a = ofType<Patient>(map(input(TX)), 'Patient')[0]!.id;
    const otherAuthority = ofType<Patient>(map(input('patient-single.json')), 'Patient')[0]!;
    expect(otherAuthority.identifier![0]!.value).to.equal('MRN100001');
    expect(otherAuthority.id).to.not.equal(a);
    expect(ofType<Patient>(map(input(TX), 'OTHER-EMR'), 'Patient')[0]!.id).to.not.equal(a);
  });

  it('rewrites absolute and versioned references of a searchset and leaves out its OperationOutcome (golden)', () => {
    const out = map(input('searchset-absolute-urls.json'));
    expectGolden('fhir', 'searchset-absolute-urls.json', out);
    const [patient] = ofType<Patient>(out, 'Patient');
    const [condition] = ofType<Condition>(out, 'Condition');
    expect(condition!.subject).to.deep.equal({ reference: `Patient/${patient!.id}` });
    expect(condition!.code!.coding![0]!.system).to.equal('http://snomed.info/sct');
    expect(out.resources.map((r) => r.resource.resourceType)).to.deep.equal(['Patient', 'Condition']);
    expect(patient!.meta!.lastUpdated).to.equal(undefined);
  });

  it('normalises a single resource (golden)', () => {
    const out = map(input('patient-single.json'));
    expectGolden('fhir', 'patient-single.json', out);
    expect(out.messageType).to.equal('Patient');
    expect(out.resources[0]!.sourceTime).to.equal('2026-11-22T10:00:00.000Z');
  });

  it('keeps only the newest version when a history Bundle carries a resource twice', () => {
    const older = { ...(input('patient-single.json') as object), meta: { lastUpdated: '2026-11-20T10:00:00Z' }, gender: 'unknown' };
    const newer = input('patient-single.json');
    const out = map({ resourceType: 'Bundle', type: 'history', entry: [{ resource: newer }, { resource: older }] });
    expect(out.resources).to.have.length(1);
    expect((out.resources[0]!.resource as Patient).gender).to.equal('female');
  });

  it('reads a FHIR message Bundle: the MessageHeader names the message and is not stored', () => {
    const tx = input(TX) as { entry: unknown[] };
    const message = {
      resourceType: 'Bundle', type: 'message', id: 'b-1',
      entry: [{ fullUrl: 'urn:uuid:aaaaaaaa-0000-4000-8000-000000000001', resource: { resourceType: 'MessageHeader', id: 'msg-42', eventCoding: { system: 'http://example.org/events', code: 'admit' }, source: { endpoint: 'http://emr.example.org' } } }, ...tx.entry.slice(0, 2)],
    };
    const out = map(message);
    expect(out.resources.map((r) => r.resource.resourceType)).to.deep.equal(['Patient', 'Encounter']);
    expect(out.controlId).to.equal('msg-42');
    expect(out.resources[0]!.resource.meta!.source).to.equal('urn:hub:identifier/source/EMR#msg-42');
  });

  it('refuses input that is not a FHIR resource, naming the problem', () => {
    for (const bad of [{ hello: 'world' }, { resourceType: 'Bundle', type: 'batch', entry: [{ fullUrl: 'x' }] }, { resourceType: 'Bundle', type: 'batch' }]) {
      let error: unknown;
      try {
        map(bad);
      } catch (err) {
        error = err;
      }
      expect(isHubError(error) && error.code).to.equal('FHIR_INPUT_INVALID');
    }
  });

  it('lets a site map its upstream identifier systems without copying the base tables', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hub-mappings-'));
    try {
      cpSync(path.join(PROJECT_ROOT, 'mappings'), dir, { recursive: true });
      const siteDir = path.join(dir, 'sites', 'east', 'fhir', 'codemaps');
      mkdirSync(siteDir, { recursive: true });
      writeFileSync(path.join(siteDir, 'identifier-systems.yaml'), 'kind: codemap\nmap:\n  http://hospital.example.org/mrn: urn:oid:1.2.156.112604.1.2.1\n');
      const { registry, problems } = readMappings(dir, 'east');
      expect(problems).to.deep.equal([]);
      const out = mapFhirInput(input(TX), { sourceSystem: 'EMR' }, fhirInputRules(registry), SETTINGS);
      expect(ofType<Patient>(out, 'Patient')[0]!.identifier![0]!.system).to.equal('urn:oid:1.2.156.112604.1.2.1');
      expect(ofType<Observation>(out, 'Observation')[0]!.code.coding![0]!.system).to.equal('http://loinc.org');
      expect(fhirInputRules(registry).version).to.not.equal(rules().version);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

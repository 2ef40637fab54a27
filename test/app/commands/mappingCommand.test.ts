import { expect } from 'chai';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runMappingLint, runMappingTest } from '../../../app/commands/mappingCommand.ts';
import { loadConfig } from '../../../hub/config/loadConfig.ts';
import { PROJECT_ROOT } from '../../../hub/core/schemaValidator.ts';

const ADT = path.join(PROJECT_ROOT, 'test', 'fixtures', 'mapping', 'adt');
const config = loadConfig({ env: {} });

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

describe('hub mapping lint', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'hub-lint-'));
    cpSync(path.join(PROJECT_ROOT, 'mappings'), dir, { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('passes the shipped mappings with exit code 0', async () => {
    const c = capture();
    expect(await runMappingLint([], config, c.io)).to.equal(0);
    expect(c.out.join('\n')).to.match(/^\d+ mapping files OK \(\d+ messages, \d+ groups/);
  });

  it('names the file, line and path of each problem and exits 1', async () => {
    const file = path.join(dir, 'hl7v2', 'messages', 'ADT_A02.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('  - include: groups/ADT-Visit\n', '  - include: groups/ADT-Visit\n  - key: bad\n    type: Patient\n    id: {hash: ["PID-3.x"]}\n    fields: {gender: {codemap: no-such-map, path: PID-8}}\n'));
    const c = capture();
    expect(await runMappingLint(['--dir', dir], config, c.io)).to.equal(1);
    const text = c.err.join('\n');
    expect(text).to.contain('hl7v2/messages/ADT_A02.yaml:14: resources[2].id.hash[0]: "PID-3.x" is not an HL7 path');
    expect(text).to.contain('hl7v2/messages/ADT_A02.yaml:15: resources[2].fields.gender.codemap: unknown codemap "no-such-map"');
  });

  it('reports a schema error with its line number', async () => {
    writeFileSync(path.join(dir, 'hl7v2', 'codemaps', 'broken.yaml'), 'kind: codemap\ndescription: x\nmapp:\n  A: b\n');
    const c = capture();
    expect(await runMappingLint(['--dir', dir], config, c.io)).to.equal(1);
    expect(c.err.join('\n')).to.contain('hl7v2/codemaps/broken.yaml:3: mapp: is not a known key');
  });

  it('refuses a site file that extends a base file that does not exist', async () => {
    mkdirSync(path.join(dir, 'sites', 'demo', 'hl7v2', 'segments'), { recursive: true });
    writeFileSync(path.join(dir, 'sites', 'demo', 'hl7v2', 'segments', 'ZZZ-Nothing.yaml'), 'kind: part\nextends: base\nfields:\n  active: {const: true}\n');
    const c = capture();
    expect(await runMappingLint(['--dir', dir, '--site', 'demo'], config, c.io)).to.equal(1);
    expect(c.err.join('\n')).to.contain('there is no base file "hl7v2/segments/ZZZ-Nothing" to extend');
  });
});

describe('hub mapping test', () => {
  let work: string;
  beforeEach(() => { work = mkdtempSync(path.join(tmpdir(), 'hub-mapping-test-')); });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  it('prints the FHIR output of one message as JSON and exits 0', async () => {
    const c = capture();
    expect(await runMappingTest([path.join(ADT, 'adt-a03-discharge.hl7')], config, c.io)).to.equal(0);
    const printed = JSON.parse(c.out.join('\n')) as { mapping: string; resources: Array<{ resourceType: string; status?: string }> };
    expect(printed.mapping).to.equal('hl7v2/messages/ADT_A03@1');
    expect(printed.resources.find((r) => r.resourceType === 'Encounter')!.status).to.equal('finished');
  });

  it('passes every ADT fixture against its golden file', async () => {
    const c = capture();
    expect(await runMappingTest([ADT, '--expect', ADT], config, c.io), c.err.join('\n')).to.equal(0);
    expect(c.err.at(-1)).to.match(/^(\d+) of \1 message\(s\) passed$/);
  });

  it('shows a readable diff and exits 1 when the output differs from the golden file', async () => {
    const golden = JSON.parse(readFileSync(path.join(ADT, 'adt-a03-discharge.expected.json'), 'utf8')) as { resources: Array<{ resourceType: string; id: string; status?: string }> };
    const encounter = golden.resources.find((r) => r.resourceType === 'Encounter')!;
    encounter.status = 'in-progress';
    writeFileSync(path.join(work, 'adt-a03-discharge.expected.json'), JSON.stringify(golden));
    cpSync(path.join(ADT, 'adt-a03-discharge.hl7'), path.join(work, 'adt-a03-discharge.hl7'));
    const c = capture();
    expect(await runMappingTest([path.join(work, 'adt-a03-discharge.hl7'), '--expect', work], config, c.io)).to.equal(1);
    expect(c.err.join('\n')).to.contain(`~ resources.Encounter/${encounter.id}.status: expected "in-progress", got "finished"`);
  });

  it('fails a message without a golden file, and --update writes one', async () => {
    cpSync(path.join(ADT, 'adt-a11-cancel-admit.hl7'), path.join(work, 'a11.hl7'));
    const c = capture();
    expect(await runMappingTest([work, '--expect', work], config, c.io)).to.equal(1);
    expect(c.err.join('\n')).to.contain('no golden file');
    expect(await runMappingTest([work, '--expect', work, '--update'], config, capture().io)).to.equal(0);
    expect(await runMappingTest([work, '--expect', work], config, capture().io)).to.equal(0);
  });

  it('applies the mapping named by --mapping instead of the one MSH-9 selects', async () => {
    const c = capture();
    expect(await runMappingTest([path.join(ADT, 'adt-a01-admit.hl7'), '--mapping', 'ADT_A11'], config, c.io)).to.equal(0);
    const printed = JSON.parse(c.out.join('\n')) as { mapping: string };
    expect(printed.mapping).to.equal('hl7v2/messages/ADT_A11@1');
  });

  it('normalises FHIR input (.json) through the same rules and checks', async () => {
    const c = capture();
    const file = path.join(PROJECT_ROOT, 'test', 'fixtures', 'mapping', 'fhir', 'transaction-patient-encounter-observation.json');
    expect(await runMappingTest([file, '--source-system', 'EMR'], config, c.io), c.err.join('\n')).to.equal(0);
    const printed = JSON.parse(c.out.join('\n')) as { mapping: string; resources: Array<{ resourceType: string }> };
    expect(printed.mapping).to.match(/^fhir\/codemaps@/);
    expect(printed.resources.map((r) => r.resourceType)).to.include.members(['Patient', 'Encounter', 'Observation']);
  });

  it('fails on rule violations even without golden files', async () => {
    const dir = path.join(work, 'mappings');
    cpSync(path.join(PROJECT_ROOT, 'mappings'), dir, { recursive: true });
    mkdirSync(path.join(dir, 'sites', 'bad', 'hl7v2', 'groups'), { recursive: true });
    writeFileSync(path.join(dir, 'sites', 'bad', 'hl7v2', 'groups', 'ADT-Patient.yaml'),
      'kind: group\nextends: base\nresources:\n  - key: patient\n    fields:\n      managingOrganization: {ref: insurer}\n      birthDate: {const: "12/04/1985"}\n');
    const c = capture();
    expect(await runMappingTest([path.join(ADT, 'adt-a04-register.hl7'), '--dir', dir, '--site', 'bad'], config, c.io)).to.equal(1);
    expect(c.err.join('\n')).to.match(/rule: Patient\/\w+: Patient\.birthDate: must match pattern/);
  });
});

import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseHl7 } from '../../../hub/hl7v2/hl7Parser.ts';
import { mapHl7Message } from '../../../hub/mapping/mappingEngine.ts';
import { formatProblem, readMappings } from '../../../hub/mapping/mappingLoader.ts';

const SETTINGS = { timeZone: 'Asia/Shanghai', identifierSystemBase: 'urn:hub:identifier' };
const ORIGIN = { sourceSystem: 'HIS', connectorId: 'his', receivedAt: '2026-11-23T00:00:00.000Z' };
const MSG = [
  'MSH|^~\\&|HIS|H|HUB|H|20261123080000+0800||ADT^A99|C1|P|2.5',
  'EVN|A99|20261123075900+0800',
  'PID|1||M1^^^H^MR||ONE^A',
  'ROL|1|AD|AT^Attending|D1^DOC^ONE',
  'ROL|2|AD|CP^Consulting|D1^DOC^ONE',
  'ROL|3|AD|CP^Consulting|D2^DOC^TWO',
  'PID|2||M2^^^H^MR||TWO^B',
].join('\r');

/** A throw-away mappings folder holding exactly the files a test writes. */
function mappings(files: Record<string, string>, site?: string) {
  const dir = mkdtempSync(path.join(tmpdir(), 'hub-engine-'));
  try {
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      writeFileSync(path.join(dir, name), text);
    }
    return readMappings(dir, site);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const MESSAGE = (resources: string, extra = '') => `kind: message\nversion: "1"\nmatch: {messageType: ADT, triggerEvent: A99}\n${extra}resources:\n${resources}`;
const PATIENT = '  - key: patient\n    type: Patient\n    id: {hash: [{var: sourceSystem}, PID-3.1]}\n    fields: {gender: {const: male}}\n';

describe('Mapping engine features', () => {
  it('includes the resources of a group file, and skips it when its condition fails', () => {
    const { registry, problems } = mappings({
      'hl7v2/messages/A99.yaml': MESSAGE('  - include: groups/People\n  - include: groups/People2\n    when: {exists: ZZZ}\n'),
      'hl7v2/groups/People.yaml': `kind: group\nresources:\n${PATIENT}`,
      'hl7v2/groups/People2.yaml': 'kind: group\nresources:\n  - key: other\n    type: Patient\n    id: {hash: [PID-3.1, {const: x}]}\n    fields: {active: {const: true}}\n',
    });
    expect(problems.map(formatProblem)).to.deep.equal([]);
    const out = mapHl7Message(parseHl7(MSG), ORIGIN, registry, SETTINGS);
    expect(out.resources.map((r) => r.key)).to.deep.equal(['patient']);
  });

  it('reports an unknown group and a group that includes itself', () => {
    const { problems } = mappings({
      'hl7v2/messages/A99.yaml': MESSAGE('  - include: groups/Nope\n  - include: groups/Loop\n'),
      'hl7v2/groups/Loop.yaml': 'kind: group\nresources:\n  - include: groups/Loop\n',
    });
    const text = problems.map(formatProblem).join('\n');
    expect(text).to.contain('unknown group "groups/Nope"');
    expect(text).to.contain('group "groups/Loop" includes itself');
  });

  it('makes one resource of a practitioner named twice when the resource is shared, two otherwise', () => {
    const rol = (shared: boolean) => `  - key: doctor\n    type: Practitioner\n    each: ROL\n${shared ? '    shared: true\n' : ''}    id: {hash: [ROL-4.1]}\n    fields: {name: {list: [{fields: {family: ROL-4.2}}]}}\n`;
    for (const [shared, count] of [[true, 2], [false, 3]] as const) {
      const { registry } = mappings({ 'hl7v2/messages/A99.yaml': MESSAGE(rol(shared)) });
      const out = mapHl7Message(parseHl7(MSG), ORIGIN, registry, SETTINGS);
      expect(out.resources.map((r) => r.resource.resourceType), `shared: ${shared}`).to.have.length(count);
      expect(new Set(out.resources.map((r) => r.resource.id)).size).to.equal(count);
    }
  });

  it('refTo references a per-segment resource by its id rule, and each: "PID[1]" visits the second PID only', () => {
    const { registry, problems } = mappings({
      'hl7v2/messages/A99.yaml': MESSAGE(`${PATIENT}  - key: doctor\n    type: Practitioner\n    each: ROL\n    shared: true\n    id: {hash: [ROL-4.1]}\n    fields: {active: {const: true}}\n`
        + '  - key: team\n    type: CareTeam\n    id: {hash: [PID-3.1, {const: team}]}\n    fields:\n      participant: {each: ROL, fields: {member: {refTo: {type: Practitioner, hash: [ROL-4.1]}}}}\n'
        + '  - each: "PID[1]"\n    resources:\n      - key: second\n        type: Patient\n        id: {hash: [{var: sourceSystem}, PID-3.1]}\n        fields: {name: {list: [{fields: {family: PID-5.1}}]}}\n'),
    });
    expect(problems.map(formatProblem)).to.deep.equal([]);
    const out = mapHl7Message(parseHl7(MSG), ORIGIN, registry, SETTINGS);
    const doctors = out.resources.filter((r) => r.resource.resourceType === 'Practitioner').map((r) => `Practitioner/${r.resource.id}`);
    const team = out.resources.find((r) => r.key === 'team')!.resource as unknown as { participant: Array<{ member: { reference: string } }> };
    expect(team.participant.map((p) => p.member.reference)).to.deep.equal([doctors[0], doctors[0], doctors[1]]);
    const second = out.resources.filter((r) => r.key === 'second');
    expect(second).to.have.length(1);
    expect((second[0]!.resource as unknown as { name: Array<{ family: string }> }).name[0]!.family).to.equal('TWO');
  });

  it('leaves out a directive without identifying values, with a warning', () => {
    const { registry } = mappings({
      'hl7v2/messages/A99.yaml': MESSAGE(PATIENT, 'directives:\n  - kind: merge\n    survivor: {type: Patient, hash: [{var: sourceSystem}, PID-3.1]}\n    retired: {type: Patient, hash: [{var: sourceSystem}, MRG-1.1]}\n'),
    });
    const out = mapHl7Message(parseHl7(MSG), ORIGIN, registry, SETTINGS);
    expect(out.directives).to.equal(undefined);
    expect(out.warnings.join('\n')).to.contain('directives[0][0].retired: no identifying value');
  });

  it('site files with extends: base merge code maps by code and message resources by key', () => {
    const files = {
      'hl7v2/messages/A99.yaml': MESSAGE('  - key: patient\n    type: Patient\n    id: {hash: [{var: sourceSystem}, PID-3.1]}\n    fields: {gender: {path: PID-8, codemap: sex, default: unknown}}\n'),
      'hl7v2/codemaps/sex.yaml': 'kind: codemap\nmap: {M: male, F: female}\n',
      'sites/east/hl7v2/codemaps/sex.yaml': 'kind: codemap\nextends: base\nmap: {"1": male}\n',
      'sites/east/hl7v2/messages/A99.yaml': 'kind: message\nextends: base\nversion: "3"\nresources:\n  - key: patient\n    fields: {active: {const: true}}\n    append: {identifier: {fields: {value: PID-3.1}}}\n',
    };
    const { registry, problems } = mappings(files, 'east');
    expect(problems.map(formatProblem)).to.deep.equal([]);
    const out = mapHl7Message(parseHl7(MSG.replace('ONE^A', 'ONE^A|||1')), ORIGIN, registry, SETTINGS);
    expect(out.mappingVersion).to.equal('1+east.3');
    expect(out.resources[0]!.resource).to.deep.include({ gender: 'male', active: true, identifier: [{ value: 'M1' }] });
    expect(registry.codemap('sex', 'hl7v2').map).to.deep.equal({ M: 'male', F: 'female', 1: 'male' });
  });
});

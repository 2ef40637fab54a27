import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../../hub/core/schemaValidator.ts';
import { parseHl7 } from '../../../hub/hl7v2/hl7Parser.ts';
import { mapHl7Message } from '../../../hub/mapping/mappingEngine.ts';
import { readMappings } from '../../../hub/mapping/mappingLoader.ts';

const ADT = path.join(PROJECT_ROOT, 'test', 'fixtures', 'mapping', 'adt');
const SETTINGS = { timeZone: 'Asia/Shanghai', identifierSystemBase: 'urn:hub:identifier' };
const ORIGIN = { sourceSystem: 'HIS', connectorId: 'his-adt', receivedAt: '2026-11-23T00:00:00.000Z' };
const { registry } = readMappings(path.join(PROJECT_ROOT, 'mappings'));

const fixture = (name: string) => readFileSync(path.join(ADT, name), 'utf8');
const map = (text: string, sourceSystem = 'HIS') => mapHl7Message(parseHl7(text), { ...ORIGIN, sourceSystem }, registry, SETTINGS);
/** The Patient reference an admission for this MRN would store, by the same id rule. */
const patientFor = (mrn: string, sourceSystem = 'HIS') =>
  map(fixture('adt-a01-admit.hl7').replace('MRN200345^', `${mrn}^`), sourceSystem).patient;

describe('ADT patient directives for the patient index', () => {
  it('A40 merge: the PID record survives, the MRG-1 record is retired, both with the ids their admissions got', () => {
    const out = map(fixture('adt-a40-merge.hl7'));
    expect(out.directives).to.deep.equal([
      { kind: 'merge', survivor: patientFor('MRN200345'), retired: patientFor('MRN200999'), sourceSystem: 'HIS', controlId: 'RJ0040' },
    ]);
    expect(out.patient).to.equal(patientFor('MRN200345'));
  });

  it('A40 with two PID/MRG pairs gives one merge per pair', () => {
    const text = fixture('adt-a40-merge.hl7').replace(/\r$/, '')
      + '\rPID|1||MRN300001^^^RENJI&2.16.840.1.113883.19.8&ISO^MR||李^雷||19700101|M\rMRG|MRN300002^^^RENJI&2.16.840.1.113883.19.8&ISO^MR\r';
    const out = map(text);
    expect(out.directives?.map((d) => d.kind === 'merge' && [d.survivor, d.retired])).to.deep.equal([
      [patientFor('MRN200345'), patientFor('MRN200999')],
      [patientFor('MRN300001'), patientFor('MRN300002')],
    ]);
    expect(out.resources.filter((r) => r.resource.resourceType === 'Patient')).to.have.length(2);
  });

  it('A47 identifier change retires the record under the old identifier in favour of the new one', () => {
    const out = map(fixture('adt-a47-change-identifier.hl7'));
    expect(out.directives).to.deep.equal([
      { kind: 'merge', survivor: patientFor('MRN200345'), retired: patientFor('MRN200345X'), sourceSystem: 'HIS', controlId: 'RJ0047' },
    ]);
  });

  it('A37 unlink names the two source records', () => {
    const out = map(fixture('adt-a37-unlink.hl7'));
    expect(out.directives).to.deep.equal([
      { kind: 'unlink', patient: patientFor('MRN200345'), other: patientFor('MRN200346'), sourceSystem: 'HIS', controlId: 'RJ0037' },
    ]);
    expect(out.resources.map((r) => `${r.resource.resourceType}/${r.resource.id}`)).to.have.members([patientFor('MRN200345'), patientFor('MRN200346')]);
  });

  it('directives are per source system: the same MRNs from another system name other records', () => {
    const his = map(fixture('adt-a40-merge.hl7')).directives![0]!;
    const other = map(fixture('adt-a40-merge.hl7'), 'HIS2').directives![0]!;
    expect(other).to.deep.include({ kind: 'merge', sourceSystem: 'HIS2', survivor: patientFor('MRN200345', 'HIS2') });
    expect(other).to.not.deep.equal(his);
  });

  it('an MRG naming the surviving record itself says nothing', () => {
    const text = fixture('adt-a40-merge.hl7').replace('MRG|MRN200999', 'MRG|MRN200345');
    expect(map(text).directives).to.equal(undefined);
  });

  it('admissions and updates carry no directives', () => {
    expect(map(fixture('adt-a01-admit.hl7')).directives).to.equal(undefined);
    expect(map(fixture('adt-a08-update.hl7')).directives).to.equal(undefined);
  });
});

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { Patient } from 'fhir/r4.js';
import { blockingIdentifiers, blockingKeys } from '../../../hub/mpi/blockingKeys.ts';
import { loadMatchRules, parseMatchRules } from '../../../hub/mpi/matchRules.ts';
import { patientFeatures } from '../../../hub/mpi/patientFeatures.ts';
import { PROJECT_ROOT } from '../../../hub/core/schemaValidator.ts';
import { mapText, resourcesOf } from '../mapping/fhirGolden.ts';
import { patient } from './patientFixtures.ts';

const rules = loadMatchRules();
const MR = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] };

/** The example admission with PID-3 repeated `count` times: its MRN first, 身份证 last, other hospitals' MRNs between. */
function admissionWithIdentifiers(count: number): Patient & { id: string } {
  const text = readFileSync(path.join(PROJECT_ROOT, 'examples', 'adt-a01-zhang-san.hl7'), 'utf8');
  const others = Array.from({ length: count - 2 }, (_, i) => `X${String(i).padStart(5, '0')}^^^HOSP${i % 50}^MR`);
  const pid3 = ['MRN100001^^^DEMO_HOSP&2.16.840.1.113883.19.5&ISO^MR', ...others, '110101199003077774^^^CHN_NHC^NI'].join('~');
  const message = text.replace(/^(PID\|1\|\|)[^|]*/m, `$1${pid3}`);
  const [p] = resourcesOf<Patient>(mapText(message, 'HIS'), 'Patient');
  return p as Patient & { id: string };
}

describe('MPI blocking keys: identifiers per record are capped', () => {
  it('reads blocking.maxIdentifiersPerRecord from the rules file, 20 by default', () => {
    expect(rules.blocking.maxIdentifiersPerRecord).to.equal(20);
    const { maxIdentifiersPerRecord: _dropped, ...blocking } = rules.blocking;
    expect(parseMatchRules({ ...structuredClone(rules), blocking }).blocking.maxIdentifiersPerRecord).to.equal(20);
  });

  it('blocks a Patient mapped from 2,000 PID-3 repetitions on 20 identifiers, the 身份证 among them', () => {
    const p = admissionWithIdentifiers(2000);
    const features = patientFeatures(p, rules);
    expect(features.identifiers.length).to.be.greaterThan(1900);
    const keys = blockingKeys(features, rules);
    const identifierKeys = keys.filter((k) => k.startsWith('0/'));
    expect(identifierKeys).to.have.length(20);
    // the strongest kind comes first whatever its place in PID-3, then the record's own order
    expect(identifierKeys[0]).to.equal('0/nationalId:110101199003077774');
    expect(identifierKeys[1]).to.match(/^0\/mrn:.*:MRN100001$/);
    // every other rule gives the few keys it gives any record
    expect(keys.length - identifierKeys.length).to.be.lessThan(20);
  });

  it('counts only distinct identifiers: 2,000 repetitions of three are blocked on all three', () => {
    const p = patient({ id: 'rep', family: '张', given: '三', birthDate: '1990-03-07', nationalId: '110101199003077774' });
    for (let i = 0; i < 2000; i++) p.identifier!.push({ type: MR, system: `urn:hosp${i % 2}`, value: i % 2 ? 'A-1' : 'b-2 ' });
    expect(blockingIdentifiers(patientFeatures(p, rules), rules)).to.deep.equal(['nationalId:110101199003077774', 'mrn:urn:hosp0:B-2', 'mrn:urn:hosp1:A-1']);
    // values that differ only by system count once where the kind is not compared per system
    const samePassport = patient({ id: 'pp' });
    for (let i = 0; i < 30; i++) samePassport.identifier!.push({ type: { coding: [{ code: 'PPN' }] }, system: `urn:country${i}`, value: 'E1234567' });
    expect(blockingIdentifiers(patientFeatures(samePassport, rules), rules)).to.deep.equal(['passport:E1234567']);
  });

  it('follows a smaller cap from the rules', () => {
    const tight = parseMatchRules({ ...structuredClone(rules), blocking: { ...rules.blocking, maxIdentifiersPerRecord: 3 } });
    expect(blockingIdentifiers(patientFeatures(admissionWithIdentifiers(50), tight), tight)).to.have.length(3);
    expect(() => parseMatchRules({ ...structuredClone(rules), blocking: { ...rules.blocking, maxIdentifiersPerRecord: 0 } })).to.throw(/maxIdentifiersPerRecord/);
  });
});

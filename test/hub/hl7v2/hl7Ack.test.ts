import { expect } from 'chai';
import {
  acceptAckRequested, ackCodeFor, ackModeOf, ackSubjectOf, ackSubjectOfRaw, buildAck, HL7_ERROR_CONDITION,
} from '../../../hub/hl7v2/hl7Ack.ts';
import { parseHl7 } from '../../../hub/hl7v2/hl7Parser.ts';

const header = (msh15 = '', msh16 = '') => `MSH|^~\\&|LIS|LAB|HUB|HOSP|20260501083000||ORU^R01^ORU_R01|LAB42|P|2.5|||${msh15}|${msh16}`;
const segmentsOf = (ack: string) => ack.split('\r').filter(Boolean).map((s) => s.split('|'));

describe('HL7v2 acknowledgements', () => {
  it('answers in original mode when MSH-15 and MSH-16 are empty', () => {
    const subject = ackSubjectOf(parseHl7(header()));
    expect(ackModeOf(subject)).to.equal('original');
    expect(['accepted', 'error', 'rejected'].map((o) => ackCodeFor(o as 'accepted', 'original'))).to.deep.equal(['AA', 'AE', 'AR']);
  });

  it('answers commit codes CA/CE/CR in enhanced mode (MSH-15 or MSH-16 valued)', () => {
    expect(ackModeOf(ackSubjectOf(parseHl7(header('AL', 'NE'))))).to.equal('enhanced');
    expect(ackModeOf(ackSubjectOf(parseHl7(header('', 'AL'))))).to.equal('enhanced');
    expect(['accepted', 'error', 'rejected'].map((o) => ackCodeFor(o as 'accepted', 'enhanced'))).to.deep.equal(['CA', 'CE', 'CR']);
  });

  it('sends the accept ACK as MSH-15 asks: AL always, NE never, ER on errors, SU on success', () => {
    const table: Array<[string, string, boolean]> = [
      ['AL', 'CA', true], ['AL', 'CR', true],
      ['NE', 'CA', false], ['NE', 'CE', false],
      ['ER', 'CA', false], ['ER', 'CE', true], ['ER', 'CR', true],
      ['SU', 'CA', true], ['SU', 'CR', false],
    ];
    for (const [msh15, code, sent] of table) {
      const subject = ackSubjectOf(parseHl7(header(msh15, 'NE')));
      expect(acceptAckRequested(subject, code as 'CA'), `${msh15} / ${code}`).to.equal(sent);
    }
    expect(acceptAckRequested(ackSubjectOf(parseHl7(header())), 'AR')).to.equal(true);
  });

  it('echoes the control id in MSA-2 and swaps sender and receiver in MSH', () => {
    const ack = buildAck(ackSubjectOf(parseHl7(header())), { code: 'AA' });
    const [msh, msa] = segmentsOf(ack);
    expect(msh!.slice(2, 6)).to.deep.equal(['HUB', 'HOSP', 'LIS', 'LAB']);
    expect(msh![8]).to.equal('ACK^R01^ACK');
    expect(msh![11]).to.equal('2.5');
    expect(msa!.slice(0, 3)).to.deep.equal(['MSA', 'AA', 'LAB42']);
  });

  it('puts an ERR segment naming segment, field, condition, hub code and reason', () => {
    const ack = buildAck(ackSubjectOf(parseHl7(header())), {
      code: 'AR', text: 'PID-7 is not a date',
      errors: [{ condition: HL7_ERROR_CONDITION.dataTypeError, message: 'PID-7 "2026-13-01" is not a date', hubCode: 'HL7_DATETIME_INVALID', location: { segment: 'PID', sequence: 1, field: 7 } }],
    });
    const err = segmentsOf(ack).find((s) => s[0] === 'ERR')!;
    expect(err[2]).to.equal('PID^1^7');
    expect(err[3]).to.equal('102^Data type error^HL70357');
    expect(err[4]).to.equal('E');
    expect(err[5]).to.equal('HL7_DATETIME_INVALID^^HUB');
    expect(err[8]).to.equal('PID-7 "2026-13-01" is not a date');
  });

  it('escapes delimiters in the reason so the ACK still parses', () => {
    const ack = buildAck(ackSubjectOf(parseHl7(header())), { code: 'AR', text: 'a|b^c', errors: [{ condition: '207', message: 'x|y&z' }] });
    const parsed = parseHl7(ack);
    expect(parsed.segment('MSA')!.value(3)).to.equal('a|b^c');
    expect(parsed.segment('ERR')!.value(8)).to.equal('x|y&z');
  });

  it('reads enough of an unparseable message to echo its control id and delimiters', () => {
    const subject = ackSubjectOfRaw('MSH#*~$&#LIS#LAB#HUB#HOSP#2026##ORU*R01#LAB43#P#2.5###AL#NE\rgarbage');
    expect(subject.controlId).to.equal('LAB43');
    expect(subject.encoding.field).to.equal('#');
    expect(subject.triggerEvent).to.equal('R01');
    expect(ackModeOf(subject)).to.equal('enhanced');
  });

  it('falls back to standard delimiters when the broken header has unusable ones', () => {
    expect(ackSubjectOfRaw('MSHA^~\\&AB').encoding.field).to.equal('|');
    expect(ackSubjectOfRaw('PID|1').controlId).to.equal(undefined);
  });
});

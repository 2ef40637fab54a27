import { expect } from 'chai';
import { HubError } from '../../../hub/core/hubError.ts';
import { escapeHl7, unescapeHl7, DEFAULT_ENCODING } from '../../../hub/hl7v2/hl7Encoding.ts';
import { parseHl7, readEncoding } from '../../../hub/hl7v2/hl7Parser.ts';

function parseError(text: string): HubError {
  try {
    parseHl7(text);
  } catch (err) {
    expect(err).to.be.instanceOf(HubError);
    return err as HubError;
  }
  throw new Error('expected the parser to refuse the message');
}

const ADT = [
  'MSH|^~\\&|HIS|HOSP|HUB|HOSP|20260501083000||ADT^A01^ADT_A01|C1|P|2.5',
  'PID|1||MRN1^^^HOSP&1.2.3&ISO^MR~ID9^^^NHC^NI||DOE^JOHN^Q~JD^^^^^^A||19800101|M',
  'ZPI|custom^value|x&y',
].join('\r');

describe('HL7v2 parser', () => {
  describe('delimiters', () => {
    it('reads the standard |^~\\& delimiters from MSH-1 and MSH-2', () => {
      const m = parseHl7(ADT);
      expect(m.encoding).to.deep.equal({ field: '|', component: '^', repetition: '~', escape: '\\', subcomponent: '&' });
      expect(m.segment('MSH')!.value(1)).to.equal('|');
      expect(m.segment('MSH')!.value(2)).to.equal('^~\\&');
    });

    it('honours custom delimiters MSH#*~$& throughout the message', () => {
      const m = parseHl7('MSH#*~$&#LAB#HOSP#HUB#HOSP#20260501##ORU*R01#C2#P#2.5\rPID#1##M1*X*Y*A&B*MR~M2#');
      expect(m.encoding).to.deep.include({ field: '#', component: '*', repetition: '~', escape: '$', subcomponent: '&' });
      expect(m.typeLabel).to.equal('ORU^R01');
      expect(m.controlId).to.equal('C2');
      const pid = m.segment('PID')!;
      expect(pid.value(3, 0, 1)).to.equal('M1');
      expect(pid.value(3, 0, 4, 1)).to.equal('A');
      expect(pid.value(3, 0, 4, 2)).to.equal('B');
      expect(pid.value(3, 1, 1)).to.equal('M2');
    });

    it('decodes escapes written with a custom escape character', () => {
      const m = parseHl7('MSH#*~$&#A#B#C#D#1##ADT*A08#C3#P#2.5\rNTE#1##a$F$b$S$c$E$d');
      expect(m.segment('NTE')!.value(3)).to.equal('a#b*c$d');
    });

    it('reads the v2.7 truncation character as a fifth encoding character', () => {
      expect(readEncoding('MSH|^~\\&#|A')).to.deep.include({ truncation: '#' });
    });

    it('refuses delimiters that repeat or are letters, naming MSH-2', () => {
      const repeated = parseError('MSH|^^\\&|A|B|C|D|1||ADT^A01|C|P|2.5');
      expect(repeated.code).to.equal('HL7_ENCODING_CHARACTERS_INVALID');
      expect(repeated.detail.hl7).to.deep.include({ segment: 'MSH', field: 2 });
      expect(parseError('MSH|^~\\A|A|B|C|D|1||ADT^A01|C|P|2.5').code).to.equal('HL7_ENCODING_CHARACTERS_INVALID');
    });
  });

  describe('structure', () => {
    it('splits repetitions, components and sub-components', () => {
      const pid = parseHl7(ADT).segment('PID')!;
      expect(pid.field(3)).to.have.length(2);
      expect(pid.value(3, 0, 4, 1)).to.equal('HOSP');
      expect(pid.value(3, 0, 4, 2)).to.equal('1.2.3');
      expect(pid.value(3, 0, 4, 3)).to.equal('ISO');
      expect(pid.value(3, 1, 5)).to.equal('NI');
      expect(pid.value(5, 1, 7)).to.equal('A');
    });

    it('keeps Z-segments readable like any other', () => {
      const z = parseHl7(ADT).segment('ZPI')!;
      expect(z.value(1, 0, 2)).to.equal('value');
      expect(z.value(2, 0, 1, 2)).to.equal('y');
    });

    it('tells an empty field from an explicit HL7 null ""', () => {
      const pid = parseHl7('MSH|^~\\&|A|B|C|D|1||ADT^A08|C|P|2.5\rPID|1||M1||""||||').segment('PID')!;
      expect(pid.value(4)).to.equal(undefined);
      expect(pid.value(5)).to.equal(null);
      expect(pid.value(8)).to.equal(undefined);
      expect(pid.value(30)).to.equal(undefined);
    });

    for (const [name, sep] of [['CR', '\r'], ['LF', '\n'], ['CRLF', '\r\n']] as const) {
      it(`accepts ${name} segment endings`, () => {
        const m = parseHl7(ADT.split('\r').join(sep) + sep);
        expect(m.segments.map((s) => s.name)).to.deep.equal(['MSH', 'PID', 'ZPI']);
        expect(m.segment('PID')!.value(8)).to.equal('M');
      });
    }

    it('ignores blank lines and a UTF-8 byte order mark', () => {
      const m = parseHl7(`\ufeff${ADT.replace('\r', '\r\r\n')}`);
      expect(m.segments).to.have.length(3);
    });
  });

  describe('malformed messages', () => {
    it('refuses a message that does not start with MSH', () => {
      const err = parseError('PID|1||X');
      expect(err.code).to.equal('HL7_MSH_MISSING');
      expect(err.detail.hl7?.segment).to.equal('MSH');
    });

    it('refuses an MSH too short to carry its delimiters', () => {
      expect(parseError('MSH|^~').code).to.equal('HL7_HEADER_TOO_SHORT');
    });

    it('refuses an empty message', () => {
      expect(parseError('\r\n').code).to.equal('HL7_EMPTY_MESSAGE');
    });

    it('names MSH-9 when the message type is missing and MSH-10 when the control id is', () => {
      const noType = parseError('MSH|^~\\&|A|B|C|D|1|||C1|P|2.5');
      expect(noType.code).to.equal('HL7_MESSAGE_TYPE_MISSING');
      expect(noType.detail.hl7).to.deep.include({ segment: 'MSH', field: 9 });
      const noId = parseError('MSH|^~\\&|A|B|C|D|1||ADT^A01||P|2.5');
      expect(noId.code).to.equal('HL7_CONTROL_ID_MISSING');
      expect(noId.detail.hl7).to.deep.include({ field: 10 });
    });

    it('names the position of a segment without a valid name', () => {
      const err = parseError('MSH|^~\\&|A|B|C|D|1||ADT^A01|C1|P|2.5\rPID|1\rpv1|x');
      expect(err.code).to.equal('HL7_SEGMENT_INVALID');
      expect(err.detail.hl7?.sequence).to.equal(3);
    });

    it('refuses a second MSH (two messages in one frame) and says how to send batches', () => {
      const err = parseError(`${ADT}\r${ADT}`);
      expect(err.code).to.equal('HL7_SEGMENT_INVALID');
      expect(err.message).to.contain('FHS/BHS');
    });
  });
});

describe('HL7v2 escape sequences', () => {
  const enc = DEFAULT_ENCODING;
  const cases: Array<[string, string, string]> = [
    ['\\F\\', '|', 'field separator'],
    ['\\S\\', '^', 'component separator'],
    ['\\T\\', '&', 'sub-component separator'],
    ['\\R\\', '~', 'repetition separator'],
    ['\\E\\', '\\', 'escape character'],
    ['\\.br\\', '\n', 'line break'],
    ['\\X41\\', 'A', 'hexadecimal ASCII'],
    ['\\XE5BCA0\\', '张', 'hexadecimal UTF-8'],
    ['\\XE9\\', 'é', 'hexadecimal single byte (8859/1)'],
    ['\\H\\bold\\N\\', 'bold', 'highlighting on/off'],
    ['\\.sp2\\', '\n\n', 'skip lines'],
  ];
  for (const [escaped, text, what] of cases) {
    it(`decodes ${escaped} (${what})`, () => {
      expect(unescapeHl7(`a${escaped}b`, enc)).to.equal(`a${text}b`);
    });
  }

  it('keeps an unterminated escape as data rather than losing text', () => {
    expect(unescapeHl7('50\\ off', enc)).to.equal('50\\ off');
  });

  it('decodes escapes inside a parsed field, after splitting on the real delimiters', () => {
    const nte = parseHl7('MSH|^~\\&|A|B|C|D|1||ORU^R01|C|P|2.5\rNTE|1||A\\F\\B\\S\\C~D\\T\\E^F').segment('NTE')!;
    expect(nte.field(3)).to.have.length(2);
    expect(nte.value(3, 0, 1)).to.equal('A|B^C');
    expect(nte.value(3, 1, 1)).to.equal('D&E');
    expect(nte.value(3, 1, 2)).to.equal('F');
  });

  it('escapes every delimiter and line breaks so text round-trips', () => {
    const text = 'a|b^c&d~e\\f\ng';
    const escaped = escapeHl7(text, enc);
    expect(escaped).to.not.match(/[|^&~\n]/);
    expect(unescapeHl7(escaped, enc)).to.equal(text);
  });
});

import { expect } from 'chai';
import iconv from 'iconv-lite';
import { HubError } from '../../../hub/core/hubError.ts';
import { ackSubjectOf, buildAck } from '../../../hub/hl7v2/hl7Ack.ts';
import { declaredCharset, decodeHl7, encodeHl7, invalidUtf8In, invalidUtf8Warning } from '../../../hub/hl7v2/hl7Charset.ts';
import { parseHl7 } from '../../../hub/hl7v2/hl7Parser.ts';

/** A message whose sending facility and patient name are non-ASCII, declared in MSH-18. */
function message(charset: string, facility: string, family: string): string {
  return [
    `MSH|^~\\&|HIS|${facility}|HUB|HUB|20260501083000||ADT^A01|C-${charset.length}|P|2.5||||||${charset}`,
    `PID|1||M1^^^HOSP^MR||${family}^X`,
  ].join('\r');
}

/** bytes → text → parsed → ACK → ACK bytes in the same charset → text again */
function roundTrip(charset: string, iconvName: string, facility: string, family: string): void {
  const bytes = iconv.encode(message(charset, facility, family), iconvName);
  expect(declaredCharset(bytes)).to.equal(charset);
  const { text, charset: used } = decodeHl7(bytes);
  expect(used).to.equal(charset);
  const parsed = parseHl7(text);
  expect(parsed.sendingFacility).to.equal(facility);
  expect(parsed.segment('PID')!.value(5)).to.equal(family);
  const ack = buildAck(ackSubjectOf(parsed), { code: 'AA' });
  const ackBytes = encodeHl7(ack, used);
  expect(iconv.decode(ackBytes, iconvName)).to.equal(ack);
  // MSH-6 of the ACK is the sender's facility, in the sender's own encoding.
  expect(parseHl7(iconv.decode(ackBytes, iconvName)).receivingFacility).to.equal(facility);
}

describe('HL7v2 character sets (MSH-18)', () => {
  it('round-trips GB 18030-2000: bytes to text to ACK bytes', () => {
    roundTrip('GB 18030-2000', 'gb18030', '北京协和医院', '张');
  });

  it('round-trips GB18030 characters outside GB2312 (four-byte sequences)', () => {
    roundTrip('GB 18030-2000', 'gb18030', '𠀀医院', '龘');
  });

  it('round-trips GB2312', () => {
    roundTrip('GB2312', 'gb2312', '上海医院', '李');
  });

  it('round-trips 8859/1', () => {
    roundTrip('8859/1', 'latin1', 'Hôpital Bicêtre', 'Müller');
  });

  it('round-trips UNICODE UTF-8', () => {
    roundTrip('UNICODE UTF-8', 'utf8', 'Klinikum Köln 医院', 'Ødegård');
  });

  it('decodes undeclared bytes as UTF-8 when valid and as GB18030 otherwise', () => {
    const utf8 = Buffer.from(message('', 'Köln', 'X'), 'utf8');
    expect(decodeHl7(utf8).charset).to.equal('UNICODE UTF-8');
    const gb = iconv.encode(message('', '协和', '张'), 'gb18030');
    const decoded = decodeHl7(gb);
    expect(decoded.charset).to.equal('GB 18030-2000');
    expect(parseHl7(decoded.text).sendingFacility).to.equal('协和');
  });

  it('uses the connector default charset when MSH-18 is empty', () => {
    const bytes = iconv.encode(message('', 'Hôpital', 'X'), 'latin1');
    expect(decodeHl7(bytes, '8859/1').text).to.contain('Hôpital');
  });

  it('refuses an unknown MSH-18 naming the field', () => {
    try {
      decodeHl7(Buffer.from(message('KLINGON-1', 'A', 'B')));
      expect.fail('expected a refusal');
    } catch (err) {
      expect(err).to.be.instanceOf(HubError);
      expect((err as HubError).code).to.equal('HL7_CHARSET_UNSUPPORTED');
      expect((err as HubError).detail.hl7).to.deep.include({ segment: 'MSH', field: 18 });
    }
  });

  describe('invalid UTF-8 under a UTF-8 declaration', () => {
    /** The UTF-8 message with `bad` bytes spliced into the first PID-5, and a second, valid PID. */
    function withBadBytes(bad: number[], charset = 'UNICODE UTF-8'): Buffer {
      const [head, tail] = message(charset, '医院', 'Wang').split('Wang');
      return Buffer.concat([Buffer.from(head!, 'utf8'), Buffer.from(bad), Buffer.from(`${tail}\rPID|2||M2^^^HOSP^MR||Li\u00e9^Y`, 'utf8')]);
    }

    it('reports how many sequences are broken and where the first is, and still decodes with U+FFFD', () => {
      const decoded = decodeHl7(withBadBytes([0xc3, 0x28, 0xff]));
      expect(decoded.text).to.contain('\ufffd');
      expect(decoded.invalidUtf8).to.deep.include({ count: 2, location: { segment: 'PID', sequence: 1, field: 5 } });
      expect(invalidUtf8Warning(decoded.charset, decoded.invalidUtf8!)).to.match(/^HL7_INVALID_UTF8: 2 byte sequence\(s\) are not valid UNICODE UTF-8, the first at byte \d+ \(PID-5\)/);
    });

    it('finds overlong forms, surrogates and code points beyond U+10FFFF, and passes real four-byte characters', () => {
      for (const bad of [[0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe4, 0xb8]]) {
        expect(invalidUtf8In(Buffer.from(bad)), bad.map((b) => b.toString(16)).join(' ')).to.not.equal(undefined);
      }
      expect(invalidUtf8In(Buffer.from('𠀀 Ødegård 医院', 'utf8'))).to.equal(undefined);
      expect(decodeHl7(Buffer.from(message('UNICODE UTF-8', '𠀀医院', 'Ødegård'), 'utf8')).invalidUtf8).to.equal(undefined);
    });

    it('names MSH fields by their HL7 number (MSH-1 is the separator)', () => {
      const bytes = Buffer.from(message('UNICODE UTF-8', 'XX', 'Wang'), 'utf8');
      bytes[bytes.indexOf('XX')] = 0xfe; // MSH-4, the sending facility
      expect(invalidUtf8In(bytes)!.location).to.deep.equal({ segment: 'MSH', sequence: 1, field: 4 });
    });

    it('refuses the message when asked to, naming the field for the ERR segment', () => {
      try {
        decodeHl7(withBadBytes([0xff]), undefined, { invalidUtf8: 'refuse' });
        expect.fail('expected a refusal');
      } catch (err) {
        expect((err as HubError).code).to.equal('HL7_INVALID_UTF8');
        expect((err as HubError).detail.hl7).to.deep.equal({ segment: 'PID', sequence: 1, field: 5 });
      }
    });

    it('applies to a connector default of UTF-8 too, and never to other charsets or undeclared bytes', () => {
      const undeclared = withBadBytes([0xff], '');
      expect(decodeHl7(undeclared, 'UNICODE UTF-8').invalidUtf8?.count).to.equal(1);
      expect(decodeHl7(undeclared).invalidUtf8).to.equal(undefined); // read as GB 18030 instead
      expect(decodeHl7(withBadBytes([0xff], '8859/1'), undefined, { invalidUtf8: 'refuse' }).invalidUtf8).to.equal(undefined);
    });
  });
});

import { expect } from 'chai';
import iconv from 'iconv-lite';
import { HubError } from '../../../hub/core/hubError.ts';
import { ackSubjectOf, buildAck } from '../../../hub/hl7v2/hl7Ack.ts';
import { declaredCharset, decodeHl7, encodeHl7 } from '../../../hub/hl7v2/hl7Charset.ts';
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
});

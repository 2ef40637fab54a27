import { expect } from 'chai';
import { HubError } from '../../../hub/core/hubError.ts';
import { splitHl7Batch } from '../../../hub/hl7v2/hl7Batch.ts';
import { buildBatchAck } from '../../../hub/hl7v2/hl7BatchAck.ts';
import { parseHl7 } from '../../../hub/hl7v2/hl7Parser.ts';

const msg = (id: string, sep = '\r') => [`MSH|^~\\&|LIS|LAB|HUB|HOSP|20260501||ORU^R01|${id}|P|2.5`, `PID|1||M${id}`, `OBX|1|NM|GLU||5.4`].join(sep) + sep;

describe('HL7v2 batch splitting', () => {
  it('returns a single message unchanged, byte for byte', () => {
    const raw = Buffer.from(msg('1'));
    const split = splitHl7Batch(raw);
    expect(split.messages).to.have.length(1);
    expect(split.messages[0]!.equals(raw)).to.equal(true);
  });

  it('splits an FHS/BHS batch and reads the envelope control ids', () => {
    const raw = Buffer.from(`FHS|^~\\&|LIS|LAB|HUB|HOSP|20260501||||F1\rBHS|^~\\&|LIS|LAB|HUB|HOSP|20260501||||B1\r${msg('1')}${msg('2')}${msg('3')}BTS|3\rFTS|1\r`);
    const split = splitHl7Batch(raw);
    expect(split.messages.map((m) => parseHl7(m.toString()).controlId)).to.deep.equal(['1', '2', '3']);
    expect(split.fileHeader?.controlId).to.equal('F1');
    expect(split.batchHeaders[0]?.controlId).to.equal('B1');
    expect(split.batchHeaders[0]?.sendingApplication).to.equal('LIS');
    expect(split.warnings).to.deep.equal([]);
  });

  for (const [name, sep] of [['LF', '\n'], ['CRLF', '\r\n']] as const) {
    it(`splits a batch whose segments end with ${name}`, () => {
      const raw = Buffer.from(['BHS|^~\\&|LIS', msg('1', sep).trimEnd(), msg('2', sep).trimEnd(), 'BTS|2'].join(sep) + sep);
      const split = splitHl7Batch(raw);
      expect(split.messages).to.have.length(2);
      expect(parseHl7(split.messages[1]!.toString()).segment('OBX')!.value(5)).to.equal('5.4');
    });
  }

  it('splits messages sent back to back without an envelope', () => {
    expect(splitHl7Batch(Buffer.from(msg('1') + msg('2'))).messages).to.have.length(2);
  });

  it('warns when BTS-1 or FTS-1 counts disagree with the content', () => {
    const split = splitHl7Batch(Buffer.from(`FHS|^~\\&\rBHS|^~\\&\r${msg('1')}BTS|2\rFTS|3\r`));
    expect(split.warnings).to.have.length(2);
    expect(split.warnings[0]).to.contain('BTS-1 says 2');
  });

  it('keeps each message in its original bytes (GB18030 stays GB18030)', () => {
    const gb = Buffer.from([0xd5, 0xc5]); // 张 in GB18030
    const m = Buffer.concat([Buffer.from('MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5||||||GB 18030-2000\rPID|1||M||'), gb, Buffer.from('\r')]);
    const split = splitHl7Batch(Buffer.concat([Buffer.from('BHS|^~\\&\r'), m, m, Buffer.from('BTS|2\r')]));
    expect(split.messages[1]!.equals(m)).to.equal(true);
  });

  it('refuses text outside any message, naming the line', () => {
    try {
      splitHl7Batch(Buffer.from(`PID|1||X\r${msg('1')}`));
      expect.fail('expected a refusal');
    } catch (err) {
      expect((err as HubError).code).to.equal('HL7_BATCH_INVALID');
      expect((err as HubError).message).to.contain('line 1');
    }
  });

  it('refuses a batch with no message at all', () => {
    expect(() => splitHl7Batch(Buffer.from('BHS|^~\\&\rBTS|0\r'))).to.throw(HubError).with.property('code', 'HL7_BATCH_EMPTY');
  });

  it('acknowledges a batch with a batch of ACKs that references the batch control id', () => {
    const split = splitHl7Batch(Buffer.from(`FHS|^~\\&|LIS|LAB|HUB|HOSP|2026||||F9\rBHS|^~\\&|LIS|LAB|HUB|HOSP|2026||||B9\r${msg('1')}BTS|1\rFTS|1\r`));
    const ack = buildBatchAck(['MSH|^~\\&|HUB|HOSP|LIS|LAB|2026||ACK^R01^ACK|X|P|2.5\rMSA|AA|1\r'], split);
    const lines = ack.split('\r').filter(Boolean);
    expect(lines.map((l) => l.slice(0, 3))).to.deep.equal(['FHS', 'BHS', 'MSH', 'MSA', 'BTS', 'FTS']);
    expect(lines[0]!.split('|')[11]).to.equal('F9');
    expect(lines[1]!.split('|')[11]).to.equal('B9');
    expect(lines[1]!.split('|').slice(2, 6)).to.deep.equal(['HUB', 'HOSP', 'LIS', 'LAB']);
    expect(lines[4]).to.equal('BTS|1');
  });
});

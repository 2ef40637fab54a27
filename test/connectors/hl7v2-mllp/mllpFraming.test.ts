import { expect } from 'chai';
import { frame, MllpDecoder, type FrameEvent } from '../../../connectors/hl7v2-mllp/mllpFraming.ts';

const payload = (n: number) => Buffer.from(`MSH|^~\\&|A|B|C|D|1||ADT^A01|${n}|P|2.5\rPID|1||M${n}\r`);
const messages = (events: FrameEvent[]) => events.filter((e) => e.kind === 'message').map((e) => (e as { payload: Buffer }).payload.toString());

describe('MLLP framing', () => {
  it('decodes a frame delivered one byte per packet', () => {
    const decoder = new MllpDecoder(1024);
    const bytes = frame(payload(1));
    const events: FrameEvent[] = [];
    for (const b of bytes) events.push(...decoder.push(Buffer.from([b])));
    expect(messages(events)).to.deep.equal([payload(1).toString()]);
  });

  it('decodes several frames in one packet, and a split FS/CR end block', () => {
    const decoder = new MllpDecoder(1024);
    const all = Buffer.concat([frame(payload(1)), frame(payload(2)), frame(payload(3))]);
    const cut = all.indexOf(0x1c, all.indexOf(0x1c) + 1) + 1; // right after the second FS
    const events = [...decoder.push(all.subarray(0, cut)), ...decoder.push(all.subarray(cut))];
    expect(messages(events)).to.deep.equal([1, 2, 3].map((n) => payload(n).toString()));
  });

  it('drops noise between frames', () => {
    const decoder = new MllpDecoder(1024);
    const events = decoder.push(Buffer.concat([Buffer.from('\r\n junk'), frame(payload(1)), Buffer.from('\n')]));
    expect(messages(events)).to.have.length(1);
  });

  it('keeps a lone FS inside a payload as data', () => {
    const decoder = new MllpDecoder(1024);
    const odd = Buffer.concat([Buffer.from('MSH|x'), Buffer.from([0x1c]), Buffer.from('y')]);
    expect(decoder.push(frame(odd)).map((e) => e.kind === 'message' && e.payload.equals(odd))).to.deep.equal([true]);
  });

  it('reports an oversized frame once at its end, keeps only its head, and carries on with the next frame', () => {
    const decoder = new MllpDecoder(100);
    const big = Buffer.alloc(5000, 'A');
    big.write('MSH|^~\\&|A|B|C|D|1||ADT^A01|BIG|P|2.5\r');
    const events: FrameEvent[] = [];
    const bytes = Buffer.concat([frame(big), frame(payload(2))]);
    for (let i = 0; i < bytes.length; i += 64) events.push(...decoder.push(bytes.subarray(i, i + 64)));
    expect(events.map((e) => e.kind)).to.deep.equal(['oversized', 'message']);
    const over = events[0] as Extract<FrameEvent, { kind: 'oversized' }>;
    expect(over.size).to.equal(5000);
    expect(over.head.toString()).to.match(/^MSH\|.*\|BIG\|/);
    expect(decoder.buffered).to.equal(0);
  });

  it('abandons a partial frame when the sender starts a new one', () => {
    const decoder = new MllpDecoder(1024);
    const events = decoder.push(Buffer.concat([Buffer.from([0x0b]), Buffer.from('MSH|half'), frame(payload(7))]));
    expect(events.map((e) => e.kind)).to.deep.equal(['abandoned', 'message']);
    expect(messages(events)).to.deep.equal([payload(7).toString()]);
  });
});

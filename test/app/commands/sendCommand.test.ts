import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ErrorLineBudget, runSend, summaryLine } from '../../../app/commands/sendCommand.ts';
import { frame, MllpDecoder } from '../../../connectors/hl7v2-mllp/mllpFraming.ts';

/**
 * An MLLP listener standing in for the hub: AR (with an ERR naming a hub code) for messages
 * whose control id starts with BAD, AA for the rest; `silentAfter` frames it stops answering
 * and closes the connection.
 */
async function fakeListener(silentAfter = Infinity): Promise<{ port: number; close: () => Promise<void> }> {
  const server = net.createServer((socket) => {
    const decoder = new MllpDecoder(1024 * 1024);
    let seen = 0;
    socket.on('data', (chunk) => {
      for (const e of decoder.push(chunk)) {
        if (e.kind !== 'message') continue;
        seen += 1;
        if (seen > silentAfter) {
          socket.destroy();
          return;
        }
        const controlId = e.payload.toString('latin1').split('\r')[0]!.split('|')[9]!;
        const ack = controlId.startsWith('BAD')
          ? `MSH|^~\\&|HUB|H|S|H|20260101||ACK^A01^ACK|A${seen}|P|2.5\rMSA|AR|${controlId}|no mapping handles ZZZ^Z99\rERR||MSH^1^9|200^Unsupported message type^HL70357|E|MAPPING_UNSUPPORTED_MESSAGE_TYPE^^HUB\r`
          : `MSH|^~\\&|HUB|H|S|H|20260101||ACK^A01^ACK|A${seen}|P|2.5\rMSA|AA|${controlId}\r`;
        socket.write(frame(Buffer.from(ack, 'latin1')));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** A folder of messages with these control ids, written with LF line ends as a workstation would. */
function messages(controlIds: string[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'hub-send-'));
  controlIds.forEach((id, n) => writeFileSync(path.join(dir, `${String(n).padStart(3, '0')}-${id}.hl7`),
    `MSH|^~\\&|HIS|H|HUB|H|20260101||ADT^A01^ADT_A01|${id}|P|2.5\nPID|1||MRN${n}\n`));
  return dir;
}

describe('hub send', () => {
  const dirs: string[] = [];
  const listeners: Array<{ close: () => Promise<void> }> = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    await Promise.all(listeners.splice(0).map((l) => l.close()));
  });
  const send = async (ids: string[], extra: string[] = [], silentAfter = Infinity, now?: () => number) => {
    const listener = await fakeListener(silentAfter);
    listeners.push(listener);
    const dir = messages(ids);
    dirs.push(dir);
    const out: string[] = [];
    const err: string[] = [];
    const code = await runSend([dir, '--port', String(listener.port), ...extra], { out: (l) => out.push(l), err: (l) => err.push(l), ...(now ? { now } : {}) });
    return { code, out, err };
  };

  it('ends with one summary line of the counts instead of a line per ACK, and prints each AR with its reason', async () => {
    const { code, out, err } = await send(['OK1', 'BAD1', 'OK2', 'OK3', 'BAD2']);
    expect(out).to.have.length(1);
    expect(out[0]).to.match(/^sent 5: AA 3, AE 0, AR 2 in \d+\.\d\d s \(\d+\.\d msg\/s\)$/);
    expect(err).to.deep.equal([
      '001-BAD1.hl7: AR [MAPPING_UNSUPPORTED_MESSAGE_TYPE] no mapping handles ZZZ^Z99',
      '004-BAD2.hl7: AR [MAPPING_UNSUPPORTED_MESSAGE_TYPE] no mapping handles ZZZ^Z99',
    ]);
    expect(code).to.equal(1);
  });

  it('prints every ACK with --verbose and exits 0 when all were accepted', async () => {
    const { code, out, err } = await send(['OK1', 'OK2'], ['--verbose']);
    expect(out.slice(0, 2)).to.deep.equal(['000-OK1.hl7: AA', '001-OK2.hl7: AA']);
    expect(out[2]).to.match(/^sent 2: AA 2, AE 0, AR 0 in /);
    expect(err).to.deep.equal([]);
    expect(code).to.equal(0);
  });

  it('prints at most 5 AE/AR lines a second and says how many it left out', async () => {
    // a clock that stands still: every answer falls in the same second
    const { out, err } = await send(Array.from({ length: 12 }, (_, i) => `BAD${i}`), [], Infinity, () => 0);
    expect(err).to.have.length(6);
    expect(err.slice(0, 5).every((l) => / AR \[MAPPING_UNSUPPORTED_MESSAGE_TYPE\]/.test(l))).to.equal(true);
    expect(err[5]).to.equal('(7 more AE/AR not shown; --verbose prints every ACK)');
    expect(out).to.deep.equal(['sent 12: AA 0, AE 0, AR 12 in 0.00 s (0.0 msg/s)']);
  });

  it('stops when the listener closes without answering, and counts the message as unanswered', async () => {
    const { code, out, err } = await send(['OK1', 'OK2', 'OK3'], [], 1);
    expect(err).to.deep.equal(['001-OK2.hl7: the listener closed the connection; stopped (1 file(s) not sent)']);
    expect(out[0]).to.match(/^sent 2: AA 1, AE 0, AR 0, no answer 1 in /);
    expect(code).to.equal(1);
  });

  it('prints its help and sends nothing with --help', async () => {
    const out: string[] = [];
    expect(await runSend(['--help', 'examples'], { out: (l) => out.push(l), err: () => undefined })).to.equal(0);
    expect(out.join('\n')).to.match(/^usage: hub send <file-or-folder>/);
  });

  it('limits error lines per window and reports the left-out count on the next line shown', () => {
    let t = 0;
    const budget = new ErrorLineBudget(2, 1000, () => t);
    expect(['a', 'b', 'c', 'd'].map((l) => budget.admit(l))).to.deep.equal(['a', 'b', undefined, undefined]);
    t = 1000;
    expect(budget.admit('e')).to.equal('e (2 more AE/AR not shown)');
    expect(budget.suppressed).to.equal(0);
  });

  it('words the summary with the rate over the elapsed time', () => {
    expect(summaryLine({ sent: 500, AA: 497, AE: 1, AR: 2, unanswered: 0 }, 2500)).to.equal('sent 500: AA 497, AE 1, AR 2 in 2.50 s (200.0 msg/s)');
  });
});

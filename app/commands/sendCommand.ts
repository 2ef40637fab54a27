import { readdirSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { frame, MllpDecoder } from '../../connectors/hl7v2-mllp/mllpFraming.ts';
import { HubError } from '../../hub/core/hubError.ts';
import { parseArgs, type Command } from './command.ts';

const USAGE = `usage: hub send <file-or-folder>... [--host 127.0.0.1] [--port 2575] [--verbose]

Sends each HL7v2 file (every .hl7/.txt of a folder, in name order) over MLLP, one at a time,
waiting for its ACK, and ends with one summary line: messages sent, ACK codes (AA, AE, AR),
rate and elapsed time. AE/AR answers are printed with their reason as they come (at most
5 lines a second; the rest are counted). Exits 1 when any message was not accepted.

  --verbose          print every ACK (file: code reason)
  --timeout D        how long to wait for one ACK (30s)`;

function filesOf(target: string): string[] {
  if (statSync(target).isDirectory()) {
    return readdirSync(target).filter((f) => /\.(hl7|txt)$/i.test(f)).sort().map((f) => path.join(target, f));
  }
  return [target];
}

/** Counts of the answers, by what they mean for the sender (commit ACKs CA/CE/CR count with AA/AE/AR). */
export interface SendTally {
  sent: number;
  AA: number;
  AE: number;
  AR: number;
  /** an answer without a known MSA-1, or none before the timeout or the connection closed */
  unanswered: number;
}

/** `sent 3: AA 2, AE 0, AR 1 in 0.21 s (14.3 msg/s)` */
export function summaryLine(t: SendTally, elapsedMs: number): string {
  const s = elapsedMs / 1000;
  const rate = s > 0 ? t.sent / s : 0;
  return `sent ${t.sent}: AA ${t.AA}, AE ${t.AE}, AR ${t.AR}${t.unanswered ? `, no answer ${t.unanswered}` : ''} in ${s.toFixed(2)} s (${rate.toFixed(1)} msg/s)`;
}

/**
 * Error lines for a human watching a large send: at most `perWindow` per `windowMs`; the next
 * line shown (or the summary) says how many were left out.
 */
export class ErrorLineBudget {
  private windowStart = -Infinity;
  private shown = 0;
  suppressed = 0;

  constructor(private readonly perWindow = 5, private readonly windowMs = 1000, private readonly now: () => number = Date.now) {}

  /** the line to print, or undefined when over budget */
  admit(line: string): string | undefined {
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) {
      this.windowStart = t;
      this.shown = 0;
    }
    if (this.shown >= this.perWindow) {
      this.suppressed += 1;
      return undefined;
    }
    this.shown += 1;
    if (!this.suppressed) return line;
    const out = `${line} (${this.suppressed} more AE/AR not shown)`;
    this.suppressed = 0;
    return out;
  }
}

/** MSA-1, MSA-3 and the hub's error code (ERR-5) of an ACK. */
function readAck(ack: string): { code: string; reason: string } {
  const segments = ack.split('\r');
  const msa = segments.find((s) => s.startsWith('MSA'))?.split('|') ?? [];
  const hubCode = segments.find((s) => s.startsWith('ERR'))?.split('|')[5]?.split('^')[0];
  const text = msa[3] ?? '';
  return { code: msa[1] || '??', reason: [hubCode ? `[${hubCode}]` : '', text].filter(Boolean).join(' ') };
}

/** One MLLP connection that hands out the ACK frames in order. */
class AckStream {
  private readonly decoder = new MllpDecoder(16 * 1024 * 1024);
  private readonly acks: Buffer[] = [];
  private closed: string | undefined;
  private wake: (() => void) | undefined;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk) => {
      for (const e of this.decoder.push(chunk)) if (e.kind === 'message') this.acks.push(e.payload);
      this.wake?.();
    });
    socket.on('error', (err) => { this.closed = err.message; this.wake?.(); });
    socket.on('close', () => { this.closed ??= 'the listener closed the connection'; this.wake?.(); });
  }

  static open(host: string, port: number): Promise<AckStream> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, host, () => {
        s.removeListener('error', refused);
        resolve(new AckStream(s));
      });
      const refused = (err: Error) => reject(new HubError('CLI_CONNECT_FAILED', `cannot connect to ${host}:${port}: ${err.message}`));
      s.once('error', refused);
    });
  }

  /** the next ACK, or why none will come */
  async next(timeoutMs: number): Promise<{ ack: string } | { failure: string }> {
    const deadline = Date.now() + timeoutMs;
    while (this.acks.length === 0) {
      if (this.closed) return { failure: this.closed };
      const left = deadline - Date.now();
      if (left <= 0) return { failure: `no ACK within ${timeoutMs / 1000} s` };
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => { clearTimeout(timer); resolve(); };
      });
      this.wake = undefined;
    }
    return { ack: this.acks.shift()!.toString('utf8') };
  }
}

export interface SendDeps {
  out: (line: string) => void;
  err: (line: string) => void;
  now?: () => number;
}

function timeoutOf(value: string | true | undefined): number {
  if (value === undefined) return 30_000;
  const m = typeof value === 'string' ? /^(\d+(?:\.\d+)?)\s*(ms|s)?$/i.exec(value.trim()) : null;
  if (!m) throw new HubError('CLI_ARGUMENT_INVALID', `--timeout "${String(value)}" is not a duration (30s, 500ms)`);
  return Number(m[1]) * (m[2]?.toLowerCase() === 'ms' ? 1 : 1000);
}

/** The command body with its output passed in (tests read what it prints). */
export async function runSend(argv: string[], deps: SendDeps): Promise<number> {
  const { positional, options } = parseArgs(argv);
  if (options.help) {
    deps.out(USAGE);
    return 0;
  }
  if (positional.length === 0) {
    deps.err(USAGE);
    return 2;
  }
  const now = deps.now ?? Date.now;
  const host = typeof options.host === 'string' ? options.host : '127.0.0.1';
  const port = Number(options.port ?? 2575);
  const timeoutMs = timeoutOf(options.timeout);
  const verbose = options.verbose === true;
  const files = positional.flatMap(filesOf);
  const connection = await AckStream.open(host, port);
  const tally: SendTally = { sent: 0, AA: 0, AE: 0, AR: 0, unanswered: 0 };
  const errors = new ErrorLineBudget(5, 1000, now);
  const started = now();
  try {
    for (const file of files) {
      // Files edited on a workstation often end lines with LF or CRLF; HL7 wants CR.
      const text = readFileSync(file).toString('latin1').replace(/\r\n|\n/g, '\r');
      connection.socket.write(frame(Buffer.from(text, 'latin1')));
      tally.sent += 1;
      const answer = await connection.next(timeoutMs);
      const name = path.basename(file);
      if ('failure' in answer) {
        // the connection's state is unknown: what follows would be matched to the wrong ACKs
        tally.unanswered += 1;
        deps.err(`${name}: ${answer.failure}; stopped (${files.length - tally.sent} file(s) not sent)`);
        break;
      }
      const { code, reason } = readAck(answer.ack);
      const meaning = code === 'AA' || code === 'CA' ? 'AA' : code === 'AE' || code === 'CE' ? 'AE' : code === 'AR' || code === 'CR' ? 'AR' : undefined;
      if (meaning) tally[meaning] += 1;
      else tally.unanswered += 1;
      const line = `${name}: ${code}${reason ? ` ${reason}` : ''}`;
      if (verbose) deps.out(line);
      else if (meaning !== 'AA') {
        const shown = errors.admit(line);
        if (shown) deps.err(shown);
      }
    }
  } finally {
    connection.socket.end();
  }
  if (errors.suppressed) deps.err(`(${errors.suppressed} more AE/AR not shown; --verbose prints every ACK)`);
  deps.out(summaryLine(tally, now() - started));
  return tally.sent === tally.AA ? 0 : 1;
}

/** Sends HL7v2 files over MLLP, a stand-in for a hospital system, and sums up the ACKs. */
export const sendCommand: Command = {
  name: 'send',
  summary: 'send HL7v2 files (or every .hl7 in a folder) to an MLLP listener; ends with a summary of the ACKs',
  usage: USAGE,
  run(argv) {
    return runSend(argv, { out: (line) => process.stdout.write(`${line}\n`), err: (line) => process.stderr.write(`${line}\n`) });
  },
};

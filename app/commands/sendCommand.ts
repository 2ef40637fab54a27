import { readdirSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { frame, MllpDecoder } from '../../connectors/hl7v2-mllp/mllpFraming.ts';
import { parseArgs, type Command } from './command.ts';

function filesOf(target: string): string[] {
  if (statSync(target).isDirectory()) {
    return readdirSync(target).filter((f) => /\.(hl7|txt)$/i.test(f)).sort().map((f) => path.join(target, f));
  }
  return [target];
}

/** Sends HL7v2 files over MLLP and prints each ACK code: a stand-in for a hospital system. */
export const sendCommand: Command = {
  name: 'send',
  summary: 'send HL7v2 files (or every .hl7 in a folder) to an MLLP listener and print the ACKs',
  usage: 'hub send <file-or-folder>... [--host 127.0.0.1] [--port 2575]',
  async run(argv) {
    const { positional, options } = parseArgs(argv);
    if (positional.length === 0) {
      process.stderr.write(`usage: ${this.usage}\n`);
      return 2;
    }
    const host = typeof options.host === 'string' ? options.host : '127.0.0.1';
    const port = Number(options.port ?? 2575);
    const files = positional.flatMap(filesOf);
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(port, host, () => resolve(s));
      s.once('error', (err) => reject(new Error(`cannot connect to ${host}:${port}: ${err.message}`)));
    });
    const decoder = new MllpDecoder(16 * 1024 * 1024);
    const acks: Buffer[] = [];
    let wake: (() => void) | undefined;
    socket.on('data', (chunk) => {
      for (const e of decoder.push(chunk)) if (e.kind === 'message') acks.push(e.payload);
      wake?.();
    });
    let failures = 0;
    for (const file of files) {
      const bytes = readFileSync(file);
      // Files edited on a workstation often end lines with LF or CRLF; HL7 wants CR.
      const text = bytes.toString('latin1').replace(/\r\n|\n/g, '\r');
      socket.write(frame(Buffer.from(text, 'latin1')));
      while (acks.length === 0) await new Promise<void>((r) => { wake = r; setTimeout(r, 30_000); });
      const ack = acks.shift()!.toString('utf8');
      const msa = ack.split('\r').find((s) => s.startsWith('MSA'))?.split('|') ?? [];
      const code = msa[1] ?? '??';
      if (code !== 'AA' && code !== 'CA') failures += 1;
      process.stdout.write(`${path.basename(file)}: ${code}${msa[3] ? ` ${msa[3]}` : ''}\n`);
    }
    socket.end();
    return failures ? 1 : 0;
  },
};

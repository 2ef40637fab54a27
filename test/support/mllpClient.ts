import net from 'node:net';
import { frame, MllpDecoder } from '../../connectors/hl7v2-mllp/mllpFraming.ts';

/** A minimal MLLP sender, as a hospital system would be: send a frame, wait for the ACK frame. */
export class MllpTestClient {
  private readonly decoder = new MllpDecoder(10 * 1024 * 1024);
  private readonly waiting: Array<(ack: Buffer) => void> = [];
  private readonly received: Buffer[] = [];

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk) => {
      for (const e of this.decoder.push(chunk)) {
        if (e.kind !== 'message') continue;
        const w = this.waiting.shift();
        if (w) w(e.payload);
        else this.received.push(e.payload);
      }
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<MllpTestClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, host, () => resolve(new MllpTestClient(socket)));
      socket.once('error', reject);
    });
  }

  nextAck(timeoutMs = 15_000): Promise<Buffer> {
    const ready = this.received.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no ACK within timeout')), timeoutMs);
      this.waiting.push((ack) => { clearTimeout(timer); resolve(ack); });
    });
  }

  async send(message: string | Buffer, timeoutMs?: number): Promise<string> {
    const ack = this.nextAck(timeoutMs);
    this.socket.write(frame(Buffer.isBuffer(message) ? message : Buffer.from(message, 'utf8')));
    return (await ack).toString('utf8');
  }

  /** Writes raw bytes (for fragmentation tests). */
  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  close(): void {
    this.socket.end();
  }
}

/** MSA-1 and MSA-2 of an ACK. */
export function ackCode(ack: string): { code: string; controlId: string } {
  const msa = ack.split('\r').find((s) => s.startsWith('MSA'));
  const [, code = '', controlId = ''] = (msa ?? '').split('|');
  return { code, controlId };
}

import net from 'node:net';
import tls from 'node:tls';
import { frame, MllpDecoder } from '../../connectors/hl7v2-mllp/mllpFraming.ts';

/** A minimal MLLP sender, as a hospital system would be: send a frame, wait for the ACK frame. */
export class MllpTestClient {
  private readonly decoder = new MllpDecoder(10 * 1024 * 1024);
  private readonly waiting: Array<(ack: Buffer) => void> = [];
  private readonly received: Buffer[] = [];
  /** resolves when the server (or we) closed the connection */
  readonly closed: Promise<void>;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk) => {
      for (const e of this.decoder.push(chunk)) {
        if (e.kind !== 'message') continue;
        const w = this.waiting.shift();
        if (w) w(e.payload);
        else this.received.push(e.payload);
      }
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static connect(port: number, host = '127.0.0.1'): Promise<MllpTestClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, host, () => resolve(new MllpTestClient(socket)));
      socket.setNoDelay(true);
      socket.once('error', reject);
    });
  }

  /** MLLP over TLS; `ca` is the server certificate to trust. */
  static connectTls(port: number, ca: Buffer, host = '127.0.0.1'): Promise<MllpTestClient> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ port, host, ca, servername: 'localhost', checkServerIdentity: () => undefined }, () => resolve(new MllpTestClient(socket)));
      socket.once('error', reject);
    });
  }

  nextAck(timeoutMs = 15_000): Promise<Buffer> {
    const ready = this.received.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(deliver);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new Error('no ACK within timeout'));
      }, timeoutMs);
      const deliver = (ack: Buffer) => { clearTimeout(timer); resolve(ack); };
      this.waiting.push(deliver);
    });
  }

  /** ACKs that arrived without anyone waiting for them. */
  get unclaimed(): number {
    return this.received.length;
  }

  async send(message: string | Buffer, timeoutMs?: number): Promise<string> {
    return (await this.sendBytes(message, timeoutMs)).toString('utf8');
  }

  /** Sends one message and returns the raw ACK bytes (to check their charset). */
  async sendBytes(message: string | Buffer, timeoutMs?: number): Promise<Buffer> {
    const ack = this.nextAck(timeoutMs);
    this.socket.write(frame(Buffer.isBuffer(message) ? message : Buffer.from(message, 'utf8')));
    return ack;
  }

  /** Writes raw bytes (for fragmentation tests). */
  write(bytes: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(bytes, (err) => (err ? reject(err) : resolve())));
  }

  close(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** MSA-1 and MSA-2 of an ACK. */
export function ackCode(ack: string): { code: string; controlId: string } {
  const msa = ack.split('\r').find((s) => s.startsWith('MSA'));
  const [, code = '', controlId = ''] = (msa ?? '').split('|');
  return { code, controlId };
}

/** The ERR segment of an ACK, as fields (index = ERR field number). */
export function ackError(ack: string): string[] | undefined {
  return ack.split('\r').find((s) => s.startsWith('ERR'))?.split('|');
}

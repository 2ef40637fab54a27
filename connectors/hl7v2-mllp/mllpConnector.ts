import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { HubError } from '../../hub/core/hubError.ts';
import { buildAck, ackSubjectOfRaw, HL7_ERROR_CONDITION } from '../../hub/hl7v2/hl7Ack.ts';
import type { Connector, ConnectorContext, ConnectorHealth } from '../connector.ts';
import { Hl7v2Intake } from '../hl7v2/hl7v2Intake.ts';
import { frame, MllpDecoder } from './mllpFraming.ts';

export interface MllpOptions {
  maxMessageBytes: number;
  idleTimeoutMs: number;
  maxConnections: number;
  /** answer AE (resend) or AR when Kafka does not confirm */
  storeFailureAck: 'AE' | 'AR';
  defaultCharset?: string;
  tls?: { certFile: string; keyFile: string; caFile?: string; requestClientCert?: boolean };
}

const DEFAULTS: MllpOptions = {
  maxMessageBytes: 4 * 1024 * 1024,
  idleTimeoutMs: 10 * 60 * 1000,
  maxConnections: 500,
  storeFailureAck: 'AE',
};

/**
 * HL7v2 over MLLP/TCP. Each connection is served in order (a sender waits for the ACK of one
 * message before the next), many connections in parallel; the ACK goes out only after Kafka
 * confirmed the write.
 */
export class MllpConnector implements Connector {
  readonly kind = 'hl7v2-mllp';
  readonly id: string;
  private server: net.Server | undefined;
  private readonly options: MllpOptions;
  private readonly intake: Hl7v2Intake;
  private readonly sockets = new Set<net.Socket>();
  private readonly counters = { connections: 0, received: 0, accepted: 0, rejected: 0, errors: 0, oversized: 0 };
  private lastStoreFailure = 0;
  private boundPort: number | undefined;

  constructor(private readonly ctx: ConnectorContext) {
    this.id = ctx.config.id;
    this.options = { ...DEFAULTS, ...(ctx.config.options as Partial<MllpOptions> | undefined) };
    this.intake = new Hl7v2Intake({
      connectorId: ctx.config.id,
      sourceSystem: ctx.config.sourceSystem,
      topic: ctx.config.topic ?? ctx.hub.kafka.topics.hl7v2Inbound,
      deadLetterTopic: ctx.hub.kafka.topics.deadLetter,
      storeFailureAck: this.options.storeFailureAck,
      ...(this.options.defaultCharset ? { defaultCharset: this.options.defaultCharset } : {}),
    }, ctx.producer, ctx.log);
  }

  /** the port actually listened on (useful when configured as 0) */
  get port(): number | undefined {
    return this.boundPort;
  }

  async start(): Promise<void> {
    const onConnection = (socket: net.Socket) => this.serve(socket);
    const t = this.options.tls;
    this.server = t
      ? tls.createServer({
          cert: readFileSync(t.certFile), key: readFileSync(t.keyFile),
          ...(t.caFile ? { ca: readFileSync(t.caFile) } : {}),
          requestCert: t.requestClientCert ?? false, rejectUnauthorized: t.requestClientCert ?? false,
        }, onConnection)
      : net.createServer(onConnection);
    this.server.maxConnections = this.options.maxConnections;
    const host = this.ctx.config.host ?? '127.0.0.1';
    const port = this.ctx.config.port ?? 2575;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', (err) => reject(new HubError('CONNECTOR_LISTEN_FAILED', `${this.id}: cannot listen on ${host}:${port}: ${err.message}`)));
      this.server!.listen(port, host, () => resolve());
    });
    const address = this.server.address();
    this.boundPort = typeof address === 'object' && address ? address.port : port;
    this.ctx.log.info({ connector: this.id, host, port: this.boundPort, tls: Boolean(t) }, 'MLLP listener started');
  }

  private serve(socket: net.Socket): void {
    this.counters.connections += 1;
    this.sockets.add(socket);
    socket.setKeepAlive(true, 60_000);
    socket.setTimeout(this.options.idleTimeoutMs, () => socket.destroy());
    const decoder = new MllpDecoder(this.options.maxMessageBytes);
    const remote = `${socket.remoteAddress ?? ''}:${socket.remotePort ?? ''}`;
    // Messages of one connection are handled strictly in order, so ACKs go back in order.
    let queue = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      for (const event of decoder.push(chunk)) {
        queue = queue.then(() => this.handle(socket, event.kind === 'message' ? event.payload : undefined, remote, event.kind === 'oversized' ? event.size : 0));
      }
      // Back-pressure: stop reading while this connection has work queued.
      socket.pause();
      void queue.then(() => { if (!socket.destroyed) socket.resume(); });
    });
    socket.on('error', () => undefined);
    socket.on('close', () => this.sockets.delete(socket));
  }

  private async handle(socket: net.Socket, payload: Buffer | undefined, remote: string, oversize: number): Promise<void> {
    if (socket.destroyed) return;
    this.counters.received += 1;
    if (!payload) {
      this.counters.oversized += 1;
      this.counters.rejected += 1;
      const ack = buildAck(ackSubjectOfRaw(''), {
        code: 'AR', text: `message larger than ${this.options.maxMessageBytes} bytes`,
        errors: [{ condition: HL7_ERROR_CONDITION.applicationInternalError, hubCode: 'MLLP_MESSAGE_TOO_LARGE', message: `message exceeds the ${this.options.maxMessageBytes}-byte limit (at least ${oversize} bytes received)` }],
      });
      socket.write(frame(Buffer.from(ack, 'utf8')));
      return;
    }
    try {
      const result = await this.intake.accept(payload, { remoteAddress: remote });
      if (result.accepted) this.counters.accepted += 1;
      else {
        this.counters.rejected += 1;
        if (result.error?.code.startsWith('BUS_')) this.lastStoreFailure = Date.now();
      }
      if (!socket.destroyed) socket.write(frame(result.ackBytes));
    } catch (err) {
      this.counters.errors += 1;
      this.ctx.log.error({ connector: this.id, err: (err as Error).message }, 'MLLP handling failed');
    }
  }

  health(): ConnectorHealth {
    if (!this.server?.listening) return { status: 'down', detail: 'not listening' };
    if (Date.now() - this.lastStoreFailure < 30_000) return { status: 'degraded', detail: 'Kafka refused writes in the last 30 s' };
    return { status: 'up' };
  }

  metrics(): Record<string, number> {
    return { ...this.counters, openConnections: this.sockets.size };
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    const server = this.server;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of this.sockets) s.end();
      setTimeout(() => { for (const s of this.sockets) s.destroy(); }, 2000).unref();
    });
  }
}

export const createMllpConnector = (ctx: ConnectorContext): Connector => new MllpConnector(ctx);

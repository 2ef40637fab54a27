import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import type { Connector, ConnectorContext, ConnectorHealth, ConnectorKind } from '../connector.ts';
import { Hl7v2Intake, type IntakeResult } from '../hl7v2/hl7v2Intake.ts';
import { intakeFor } from '../hl7v2/intakeFor.ts';
import { frame, MllpDecoder, type FrameEvent } from './mllpFraming.ts';
import { listenerHealth } from '../listenerHealth.ts';
import { listenOn, tlsServerOptions, type ListenerTls } from '../listenerServer.ts';

/** `definitions.hl7v2MllpOptions` in schemas/config.schema.json; defaults come from there. */
export interface MllpOptions {
  maxMessageBytes: number;
  idleTimeoutMs: number;
  maxConnections: number;
  /** original-mode code when Kafka does not confirm: AE invites a resend, AR does not */
  storeFailureAck: 'AE' | 'AR';
  /** send an accept ACK even when MSH-15 (enhanced mode) says NE, or ER/SU for the other case */
  alwaysAck: boolean;
  /** how long stop() lets messages in hand finish */
  stopGraceMs: number;
  defaultCharset?: string;
  tls?: ListenerTls;
}

/** How long a store failure keeps health at degraded. */

/**
 * HL7v2 over MLLP/TCP (optionally TLS). Each connection is served in order — a message is
 * acknowledged before the next one of that connection is looked at — and many connections in
 * parallel. The ACK goes out only after Kafka confirmed the write. Memory stays bounded when
 * Kafka is slow: a connection with a message in hand stops reading its socket (TCP pushes back
 * on the sender), so the process holds at most maxConnections messages of maxMessageBytes.
 */
export class MllpConnector implements Connector {
  readonly kind = 'hl7v2-mllp';
  readonly id: string;
  private server: net.Server | undefined;
  private readonly intake: Hl7v2Intake;
  private readonly sockets = new Map<net.Socket, Promise<void>>();
  private readonly counters = { connections: 0, oversized: 0, abandonedFrames: 0, idleTimeouts: 0, acksSuppressed: 0, errors: 0 };
  private boundPort: number | undefined;
  private stopping = false;

  constructor(private readonly ctx: ConnectorContext, private readonly options: MllpOptions) {
    this.id = ctx.config.id;
    this.intake = intakeFor(ctx, options);
  }

  /** the port actually listened on (useful when configured as 0) */
  get port(): number | undefined {
    return this.boundPort;
  }

  async start(): Promise<void> {
    const onConnection = (socket: net.Socket) => this.serve(socket);
    const t = this.options.tls;
    this.server = t
      ? tls.createServer(tlsServerOptions(t), onConnection)
      : net.createServer(onConnection);
    this.server.maxConnections = this.options.maxConnections;
    this.server.on('error', (err) => this.ctx.log.error({ connector: this.id, err: err.message }, 'MLLP listener error'));
    const host = this.ctx.config.host ?? '127.0.0.1';
    const port = this.ctx.config.port ?? 2575;
    this.boundPort = await listenOn(this.server, this.id, host, port);
    this.stopping = false;
    this.ctx.log.info({ connector: this.id, host, port: this.boundPort, tls: Boolean(t) }, 'MLLP listener started');
  }

  private serve(socket: net.Socket): void {
    this.counters.connections += 1;
    socket.setKeepAlive(true, 60_000);
    socket.setNoDelay(true);
    socket.setTimeout(this.options.idleTimeoutMs, () => {
      this.counters.idleTimeouts += 1;
      socket.destroy();
    });
    const decoder = new MllpDecoder(this.options.maxMessageBytes);
    const remote = `${socket.remoteAddress ?? ''}:${socket.remotePort ?? ''}`;
    this.ctx.log.debug({ connector: this.id, remote }, 'MLLP connection opened');
    // Messages of one connection are handled strictly in order, so ACKs go back in order.
    let queue = Promise.resolve();
    this.sockets.set(socket, queue);
    socket.on('data', (chunk: Buffer) => {
      const events = decoder.push(chunk);
      if (events.length === 0) return;
      socket.pause();
      for (const event of events) queue = queue.then(() => this.handle(socket, event, remote));
      queue = queue.then(() => { if (!socket.destroyed && !this.stopping) socket.resume(); });
      this.sockets.set(socket, queue);
    });
    socket.on('error', (err) => this.ctx.log.debug({ connector: this.id, remote, err: err.message }, 'MLLP socket error'));
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.ctx.log.debug({ connector: this.id, remote }, 'MLLP connection closed');
    });
  }

  private async handle(socket: net.Socket, event: FrameEvent, remote: string): Promise<void> {
    if (socket.destroyed) return;
    try {
      let result: IntakeResult;
      if (event.kind === 'abandoned') {
        this.counters.abandonedFrames += 1;
        this.ctx.log.warn({ connector: this.id, remote, bytes: event.size }, 'MLLP frame abandoned by the sender (new start block before the end block)');
        return;
      }
      if (event.kind === 'oversized') {
        this.counters.oversized += 1;
        result = await this.intake.refuseTooLarge(event.head, event.size, this.options.maxMessageBytes, { remoteAddress: remote });
      } else {
        result = await this.intake.accept(event.payload, { remoteAddress: remote });
      }
      if (!result.ackRequested && !this.options.alwaysAck) {
        this.counters.acksSuppressed += 1;
        return;
      }
      if (socket.destroyed) return;
      // A sender that does not read its ACKs must not make us buffer them without end.
      if (!socket.write(frame(result.ackBytes))) await Promise.race([once(socket, 'drain'), once(socket, 'close')]);
    } catch (err) {
      this.counters.errors += 1;
      this.ctx.log.error({ connector: this.id, err: (err as Error).message }, 'MLLP handling failed; closing the connection so the sender resends');
      socket.destroy();
    }
  }

  health(): ConnectorHealth {
    return listenerHealth(Boolean(this.server?.listening), this.intake.lastStoreFailure);
  }

  metrics(): Record<string, number> {
    return { ...this.intake.counters, ...this.counters, openConnections: this.sockets.size };
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    const server = this.server;
    this.server = undefined;
    this.stopping = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets.keys()) s.pause();
    // Let messages already read finish (their ACK means they are in Kafka), then hang up.
    const grace = new Promise<void>((resolve) => setTimeout(resolve, this.options.stopGraceMs).unref());
    await Promise.race([Promise.allSettled([...this.sockets.values()]), grace]);
    for (const s of this.sockets.keys()) s.destroy();
    await closed;
    this.ctx.log.info({ connector: this.id }, 'MLLP listener stopped');
  }
}

export const hl7v2MllpKind: ConnectorKind<MllpOptions> = {
  kind: 'hl7v2-mllp',
  optionsSchema: 'hl7v2MllpOptions',
  create: (ctx, options) => new MllpConnector(ctx, options),
};

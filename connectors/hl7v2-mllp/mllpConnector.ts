import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import type { ConnectorConfig } from '../../hub/config/hubConfig.ts';
import { HubError } from '../../hub/core/hubError.ts';
import type { Connector, ConnectorContext, ConnectorHealth, ConnectorKind } from '../connector.ts';
import { Hl7v2Intake, type IntakeResult } from '../hl7v2/hl7v2Intake.ts';
import { intakeFor } from '../hl7v2/intakeFor.ts';
import { frame, MllpDecoder, type FrameEvent } from './mllpFraming.ts';
import { listenerHealth } from '../listenerHealth.ts';
import { listenOn, tlsServerOptions, type ListenerTls } from '../listenerServer.ts';
import { requiresClientCertificate } from '../intakeAuth.ts';
import { AddressAllowList, isLoopbackHost } from '../networkAddress.ts';
import { RateLimitedLog } from '../rateLimitedLog.ts';
import { SenderGate } from './senderGate.ts';

/** `definitions.hl7v2MllpOptions` in schemas/config.schema.json; defaults come from there. */
export interface MllpOptions {
  maxMessageBytes: number;
  /** a connection silent this long is closed; the sender reconnects for its next message */
  idleTimeoutMs: number;
  /** a connection that has not delivered a whole frame this long after it opened is closed */
  firstFrameTimeoutMs: number;
  maxConnections: number;
  maxConnectionsPerAddress: number;
  /** sender addresses and CIDR blocks; unset: loopback only on a loopback host, required elsewhere unless mutual TLS */
  allowedSenders?: string[];
  /** original-mode code when Kafka does not confirm: AE invites a resend, AR does not */
  storeFailureAck: 'AE' | 'AR';
  /** send an accept ACK even when MSH-15 (enhanced mode) says NE, or ER/SU for the other case */
  alwaysAck: boolean;
  /** how long stop() lets messages in hand finish */
  stopGraceMs: number;
  defaultCharset?: string;
  tls?: ListenerTls;
}

/**
 * HL7v2 over MLLP/TCP (optionally TLS). Each connection is served in order — a message is
 * acknowledged before the next one of that connection is looked at — and many connections in
 * parallel. The ACK goes out only after Kafka confirmed the write. Memory stays bounded when
 * Kafka is slow: a connection with a message in hand stops reading its socket (TCP pushes back
 * on the sender), so the process holds at most maxConnections messages of maxMessageBytes.
 * MLLP has no credentials of its own, so a connection is let in by where it comes from (the
 * allow-list, checked before a TLS handshake) or by its client certificate, and no address
 * may hold more than maxConnectionsPerAddress of the listener's slots; one that has sent no
 * whole frame within firstFrameTimeoutMs gives its slot back.
 */
export class MllpConnector implements Connector {
  readonly kind = 'hl7v2-mllp';
  readonly id: string;
  private server: net.Server | undefined;
  private readonly intake: Hl7v2Intake;
  private readonly sockets = new Map<net.Socket, Promise<void>>();
  private readonly counters = {
    connections: 0, oversized: 0, abandonedFrames: 0, idleTimeouts: 0, firstFrameTimeouts: 0, acksSuppressed: 0, errors: 0,
    refusedSenders: 0, refusedOverAddressLimit: 0, refusedOverConnectionLimit: 0,
  };
  private boundPort: number | undefined;
  private stopping = false;
  private readonly gate: SenderGate;
  private readonly refusals: RateLimitedLog;

  constructor(private readonly ctx: ConnectorContext, private readonly options: MllpOptions) {
    this.id = ctx.config.id;
    this.intake = intakeFor(ctx, options);
    this.gate = new SenderGate(senderAllowList(ctx.config, options), options.maxConnectionsPerAddress);
    this.refusals = new RateLimitedLog(ctx.log);
  }

  /** the port actually listened on (useful when configured as 0) */
  get port(): number | undefined {
    return this.boundPort;
  }

  async start(): Promise<void> {
    const t = this.options.tls;
    // a TLS handshake that never finishes holds a slot as surely as a silent plain connection
    const server = t ? tls.createServer({ ...tlsServerOptions(t), handshakeTimeout: this.options.firstFrameTimeoutMs }) : net.createServer();
    // `connection` is the raw TCP socket in both cases: refused senders never reach a handshake
    server.on('connection', (socket: net.Socket) => {
      if (this.admitted(socket) && !t) this.serve(socket);
    });
    if (t) server.on('secureConnection', (socket: tls.TLSSocket) => this.serve(socket));
    server.on('drop', (dropped?: { remoteAddress?: string }) => {
      this.counters.refusedOverConnectionLimit += 1;
      this.refusals.warn('connection-limit', { connector: this.id, remote: dropped?.remoteAddress, maxConnections: this.options.maxConnections }, 'MLLP connection refused: the listener holds maxConnections connections');
    });
    server.maxConnections = this.options.maxConnections;
    server.on('error', (err) => this.ctx.log.error({ connector: this.id, err: err.message }, 'MLLP listener error'));
    this.server = server;
    const host = this.ctx.config.host ?? '127.0.0.1';
    const port = this.ctx.config.port ?? 2575;
    this.boundPort = await listenOn(this.server, this.id, host, port);
    this.stopping = false;
    this.ctx.log.info({ connector: this.id, host, port: this.boundPort, tls: Boolean(t), allowedSenders: this.options.allowedSenders ?? (requiresClientCertificate(t) ? 'client certificate' : 'loopback') }, 'MLLP listener started');
  }

  /** Lets a new TCP connection in, or closes it at once with a (rate-limited) warning. */
  private admitted(socket: net.Socket): boolean {
    const verdict = this.gate.admit(socket.remoteAddress);
    if (verdict.admitted) {
      socket.once('close', () => this.gate.release(verdict.address));
      return true;
    }
    if (verdict.reason === 'sender-not-allowed') {
      this.counters.refusedSenders += 1;
      this.refusals.warn(verdict.reason, { connector: this.id, remote: verdict.address }, 'MLLP connection refused: the address is not in options.allowedSenders');
    } else {
      this.counters.refusedOverAddressLimit += 1;
      this.refusals.warn(verdict.reason, { connector: this.id, remote: verdict.address, maxConnectionsPerAddress: this.options.maxConnectionsPerAddress }, 'MLLP connection refused: the address holds maxConnectionsPerAddress connections');
    }
    socket.destroy();
    return false;
  }

  private serve(socket: net.Socket): void {
    this.counters.connections += 1;
    socket.setKeepAlive(true, 60_000);
    socket.setNoDelay(true);
    socket.setTimeout(this.options.idleTimeoutMs, () => {
      this.counters.idleTimeouts += 1;
      socket.destroy();
    });
    // an absolute deadline, not inactivity: a byte every few seconds must not keep a slot forever
    let firstFrameDue: NodeJS.Timeout | undefined = setTimeout(() => {
      this.counters.firstFrameTimeouts += 1;
      this.refusals.warn('first-frame-timeout', { connector: this.id, remote: socket.remoteAddress, firstFrameTimeoutMs: this.options.firstFrameTimeoutMs }, 'MLLP connection closed: no complete frame within firstFrameTimeoutMs');
      socket.destroy();
    }, this.options.firstFrameTimeoutMs);
    const frameArrived = () => {
      clearTimeout(firstFrameDue);
      firstFrameDue = undefined;
    };
    const decoder = new MllpDecoder(this.options.maxMessageBytes);
    const remote = `${socket.remoteAddress ?? ''}:${socket.remotePort ?? ''}`;
    this.ctx.log.debug({ connector: this.id, remote }, 'MLLP connection opened');
    // Messages of one connection are handled strictly in order, so ACKs go back in order.
    let queue = Promise.resolve();
    this.sockets.set(socket, queue);
    socket.on('data', (chunk: Buffer) => {
      const events = decoder.push(chunk);
      if (events.length === 0) return;
      if (firstFrameDue && events.some((e) => e.kind !== 'abandoned')) frameArrived();
      socket.pause();
      for (const event of events) queue = queue.then(() => this.handle(socket, event, remote));
      queue = queue.then(() => { if (!socket.destroyed && !this.stopping) socket.resume(); });
      this.sockets.set(socket, queue);
    });
    socket.on('error', (err) => this.ctx.log.debug({ connector: this.id, remote, err: err.message }, 'MLLP socket error'));
    socket.on('close', () => {
      frameArrived();
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
  checkSecurity: (config, options) => {
    senderAllowList(config, options);
  },
};

/**
 * The senders a listener admits by address: the configured list; none to check under mutual
 * TLS without one (the certificate decides); loopback on a loopback host. A listener others
 * can reach with neither is refused, naming what to set.
 */
function senderAllowList(config: ConnectorConfig, options: MllpOptions): AddressAllowList | undefined {
  if (options.allowedSenders?.length) {
    const parsed = AddressAllowList.parse(options.allowedSenders);
    if (parsed instanceof AddressAllowList) return parsed;
    throw new HubError('CONFIG_CONNECTOR_ALLOWED_SENDERS', `connector "${config.id}" (hl7v2-mllp): options.allowedSenders[${parsed.index}] ${parsed.problem}`,
      { path: `connectors.${config.id}.options.allowedSenders[${parsed.index}]` });
  }
  if (requiresClientCertificate(options.tls)) return undefined;
  const host = config.host ?? '127.0.0.1';
  if (isLoopbackHost(host)) return AddressAllowList.loopback();
  throw new HubError('CONFIG_CONNECTOR_ALLOWED_SENDERS',
    `connector "${config.id}" (hl7v2-mllp) listens on ${host} but names no senders: set options.allowedSenders to the sending systems' addresses or CIDR blocks (e.g. ["10.20.0.15", "10.20.1.0/24"]), or require client certificates (options.tls with caFile and requestClientCert: true)`,
    { path: `connectors.${config.id}.options.allowedSenders` });
}

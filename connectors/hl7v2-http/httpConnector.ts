import type http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { HubError } from '../../hub/core/hubError.ts';
import { operationOutcome, type IssueType } from '../../hub/core/operationOutcome.ts';
import { buildBatchAck } from '../../hub/hl7v2/hl7BatchAck.ts';
import { splitHl7Batch, type Hl7BatchSplit } from '../../hub/hl7v2/hl7Batch.ts';
import { encodeHl7 } from '../../hub/hl7v2/hl7Charset.ts';
import type { Connector, ConnectorContext, ConnectorHealth, ConnectorKind } from '../connector.ts';
import type { Hl7v2Intake, IntakeResult } from '../hl7v2/hl7v2Intake.ts';
import { intakeFor } from '../hl7v2/intakeFor.ts';
import { readBody } from './httpBody.ts';
import { closeHttpServer, createHttpServer, listenOn, type ListenerTls } from '../listenerServer.ts';
import { listenerHealth } from '../listenerHealth.ts';

/** `definitions.hl7v2HttpOptions` in schemas/config.schema.json; defaults come from there. */
export interface HttpOptions {
  path: string;
  maxBodyBytes: number;
  storeFailureAck: 'AE' | 'AR';
  /** name of an environment variable holding a bearer token senders must present */
  bearerTokenEnv?: string;
  /** messages of one batch handed to Kafka before the first is confirmed */
  window: number;
  stopGraceMs: number;
  defaultCharset?: string;
  tls?: ListenerTls;
}

const ACCEPTED_TYPES = ['x-application/hl7-v2+er7', 'application/hl7-v2', 'application/hl7-v2+er7', 'text/plain', 'application/edi-hl7', 'application/octet-stream'];

/**
 * HL7v2 over HTTP on its own listener (its own port, so hospital feeds and the CRM-facing FHIR
 * API can be exposed and firewalled separately). `POST {path}` with one message, several, or a
 * FHS/BHS batch; the body of the response is the ACK (a batch of ACKs for several messages).
 * 200 whenever the hub answered in HL7 (the ACK code says AA/AR...), 503 with the AE ACK and
 * Retry-After when Kafka did not take the message; transport problems (size, content type,
 * auth) get a FHIR OperationOutcome.
 */
export class HttpConnector implements Connector {
  readonly kind = 'hl7v2-http';
  readonly id: string;
  private server: http.Server | undefined;
  private readonly intake: Hl7v2Intake;
  private readonly counters = { requests: 0, badRequests: 0, unauthorized: 0, batches: 0 };
  private boundPort: number | undefined;
  private readonly token: Buffer | undefined;

  constructor(private readonly ctx: ConnectorContext, private readonly options: HttpOptions) {
    this.id = ctx.config.id;
    this.intake = intakeFor(ctx, options);
    if (options.bearerTokenEnv) {
      const value = process.env[options.bearerTokenEnv];
      if (!value) throw new HubError('CONFIG_CONNECTOR_SECRET_MISSING', `connector "${this.id}": environment variable ${options.bearerTokenEnv} (options.bearerTokenEnv) is not set`, { path: `connectors.${this.id}.options.bearerTokenEnv` });
      this.token = Buffer.from(value);
    }
  }

  get port(): number | undefined {
    return this.boundPort;
  }

  async start(): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((err: unknown) => {
        this.ctx.log.error({ connector: this.id, err: (err as Error).message }, 'HL7 HTTP request failed');
        if (!res.headersSent) this.outcome(res, 500, 'exception', 'INTERNAL', 'the hub failed while handling the request; nothing was acknowledged, please resend');
        else res.destroy();
      });
    };
    const t = this.options.tls;
    this.server = createHttpServer(t, handler);
    const host = this.ctx.config.host ?? '127.0.0.1';
    const port = this.ctx.config.port ?? 2580;
    this.boundPort = await listenOn(this.server, this.id, host, port);
    this.ctx.log.info({ connector: this.id, url: `${t ? 'https' : 'http'}://${host}:${this.boundPort}${this.options.path}` }, 'HL7 HTTP listener started');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.counters.requests += 1;
    const url = new URL(req.url ?? '/', 'http://hub');
    if (url.pathname !== this.options.path) return this.outcome(res, 404, 'not-found', 'HTTP_NOT_FOUND', `nothing at ${url.pathname}; HL7v2 is accepted at POST ${this.options.path}`);
    if (!this.authorized(req)) {
      this.counters.unauthorized += 1;
      res.setHeader('www-authenticate', 'Bearer');
      return this.outcome(res, 401, 'login', 'HTTP_UNAUTHORIZED', 'a valid bearer token is required');
    }
    if (req.method === 'GET') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ connector: this.id, ...this.health(), metrics: this.metrics() }));
      return;
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'GET, POST');
      return this.outcome(res, 405, 'not-supported', 'HTTP_METHOD_NOT_ALLOWED', `${req.method ?? ''} is not supported; POST the HL7v2 message`);
    }
    const [mediaType = '', ...params] = (req.headers['content-type'] ?? 'text/plain').split(';').map((s) => s.trim());
    if (!ACCEPTED_TYPES.includes(mediaType.toLowerCase())) {
      this.counters.badRequests += 1;
      return this.outcome(res, 415, 'not-supported', 'HTTP_CONTENT_TYPE_UNSUPPORTED', `content type "${mediaType}" is not HL7v2; use x-application/hl7-v2+er7 (or ${ACCEPTED_TYPES.slice(1).join(', ')})`);
    }
    const charset = params.find((p) => p.toLowerCase().startsWith('charset='))?.slice(8).replace(/"/g, '');
    const body = await readBody(req, this.options.maxBodyBytes);
    if (body === 'too-large') {
      this.counters.badRequests += 1;
      return this.outcome(res, 413, 'too-long', 'HTTP_BODY_TOO_LARGE', `request body exceeds the ${this.options.maxBodyBytes}-byte limit of connector ${this.id}; split the batch`);
    }
    const meta = { remoteAddress: `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? ''}`, ...(charset ? { charset } : {}) };
    let split: Hl7BatchSplit | undefined;
    try {
      split = splitHl7Batch(body);
    } catch {
      split = undefined; // not even a message: the intake explains why in a NAK and keeps the bytes
    }
    const batch = split && (split.messages.length > 1 || split.fileHeader || split.batchHeaders.length > 0) ? split : undefined;
    const results = batch ? await this.acceptAll(batch.messages, meta) : [await this.intake.accept(split?.messages[0] ?? body, meta)];
    const storeFailed = results.some((r) => r.outcome === 'error');
    let payload: Buffer;
    let ackCharset = results[0]?.charset;
    if (batch) {
      this.counters.batches += 1;
      try {
        payload = encodeHl7(buildBatchAck(results.map((r) => r.ack), batch), ackCharset);
      } catch {
        payload = Buffer.from(buildBatchAck(results.map((r) => r.ack), batch), 'utf8');
        ackCharset = undefined;
      }
    } else payload = results[0]!.ackBytes;
    res.statusCode = storeFailed ? 503 : 200;
    if (storeFailed) res.setHeader('retry-after', '5');
    res.setHeader('content-type', `x-application/hl7-v2+er7; charset=${httpCharset(ackCharset)}`);
    res.setHeader('x-hub-ack-codes', [...new Set(results.map((r) => r.ackCode))].join(','));
    res.end(payload);
  }

  /** Several messages in order, `window` at a time; the answers keep the order of the messages. */
  private async acceptAll(messages: Buffer[], meta: { remoteAddress: string; charset?: string }): Promise<IntakeResult[]> {
    const results: IntakeResult[] = [];
    for (let i = 0; i < messages.length; i += this.options.window) {
      results.push(...await Promise.all(messages.slice(i, i + this.options.window).map((m) => this.intake.accept(m, meta))));
    }
    return results;
  }

  private authorized(req: IncomingMessage): boolean {
    if (!this.token) return true;
    const presented = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!presented) return false;
    const given = Buffer.from(presented);
    return given.length === this.token.length && timingSafeEqual(given, this.token);
  }

  private outcome(res: ServerResponse, status: number, type: IssueType, code: string, message: string): void {
    res.statusCode = status;
    res.setHeader('content-type', 'application/fhir+json');
    res.end(JSON.stringify(operationOutcome({ code: type, diagnostics: message, hubCode: code })));
  }

  health(): ConnectorHealth {
    return listenerHealth(Boolean(this.server?.listening), this.intake.lastStoreFailure);
  }

  metrics(): Record<string, number> {
    return { ...this.intake.counters, ...this.counters };
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    const server = this.server;
    this.server = undefined;
    await closeHttpServer(server, this.options.stopGraceMs);
    this.ctx.log.info({ connector: this.id }, 'HL7 HTTP listener stopped');
  }
}

/** The HTTP name of an HL7 (MSH-18) charset. */
function httpCharset(hl7: string | undefined): string {
  if (!hl7) return 'utf-8';
  const upper = hl7.toUpperCase();
  if (upper.startsWith('GB 18030') || upper === 'GB18030') return 'gb18030';
  if (upper === 'GB2312' || upper === 'GBK') return upper.toLowerCase();
  if (upper === '8859/1') return 'iso-8859-1';
  if (upper.startsWith('8859/')) return `iso-8859-${upper.slice(5)}`;
  if (upper.includes('UTF-8') || upper === 'UNICODE' || upper === 'UTF8') return 'utf-8';
  return hl7.toLowerCase();
}

export const hl7v2HttpKind: ConnectorKind<HttpOptions> = {
  kind: 'hl7v2-http',
  optionsSchema: 'hl7v2HttpOptions',
  create: (ctx, options) => new HttpConnector(ctx, options),
};

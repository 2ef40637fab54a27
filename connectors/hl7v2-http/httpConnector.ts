import type http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
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
import { checkIntakeAuthConfig, IntakeAuthenticator, writeAuthRefusal, type IntakeAuthOptions, type IntakeAuthRefusal } from '../intakeAuth.ts';
import { RateLimitedLog } from '../rateLimitedLog.ts';

/** `definitions.hl7v2HttpOptions` in schemas/config.schema.json; defaults come from there. */
export interface HttpOptions {
  path: string;
  maxBodyBytes: number;
  storeFailureAck: 'AE' | 'AR';
  /** who may send (connectors/intakeAuth.ts); bearer JWT by default */
  auth: IntakeAuthOptions;
  /** replaced by `auth: { mode: shared-token, tokenEnv }`; refused with that advice */
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
 * auth) get a FHIR OperationOutcome. Authentication comes first, from the headers and the TLS
 * session: there is no message yet to acknowledge, so a refusal is an OperationOutcome too, and
 * nothing of an unauthenticated body is read. `GET {path}` (status and counters) needs the same
 * credentials as a POST.
 */
export class HttpConnector implements Connector {
  readonly kind = 'hl7v2-http';
  readonly id: string;
  private server: http.Server | undefined;
  private readonly intake: Hl7v2Intake;
  private readonly counters = { requests: 0, badRequests: 0, unauthorized: 0, forbidden: 0, batches: 0 };
  private boundPort: number | undefined;
  private authenticator: IntakeAuthenticator | undefined;
  private readonly refusals: RateLimitedLog;

  constructor(private readonly ctx: ConnectorContext, private readonly options: HttpOptions) {
    this.id = ctx.config.id;
    this.intake = intakeFor(ctx, options);
    this.refusals = new RateLimitedLog(ctx.log);
  }

  get port(): number | undefined {
    return this.boundPort;
  }

  async start(): Promise<void> {
    this.authenticator = await IntakeAuthenticator.create(this.options.auth, this.ctx.hub.auth);
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
    this.ctx.log.info({ connector: this.id, url: `${t ? 'https' : 'http'}://${host}:${this.boundPort}${this.options.path}`, auth: this.options.auth.mode }, 'HL7 HTTP listener started');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.counters.requests += 1;
    const auth = await this.authenticator!.authenticate(req);
    if (!auth.ok) return this.refuse(req, res, auth.refusal);
    const url = new URL(req.url ?? '/', 'http://hub');
    if (url.pathname !== this.options.path) return this.outcome(res, 404, 'not-found', 'HTTP_NOT_FOUND', `nothing at ${url.pathname}; HL7v2 is accepted at POST ${this.options.path}`);
    if (req.method === 'GET') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ connector: this.id, ...this.health(), metrics: this.metrics() }));
      return;
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'GET, POST');
      return this.outcome(res, 405, 'not-supported', 'HTTP_METHOD_NOT_ALLOWED', `${req.method ?? ''} is not supported; POST the HL7v2 message`);
    }
    // an HL7v2 message becomes resources of whatever types its mapping writes
    if (!auth.caller.mayWrite('*')) {
      return this.refuse(req, res, { status: 403, code: 'HTTP_FORBIDDEN', message: 'HL7v2 messages become resources of many types: the token needs system/*.write' });
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

  private refuse(req: IncomingMessage, res: ServerResponse, refusal: IntakeAuthRefusal): void {
    if (refusal.status === 401) this.counters.unauthorized += 1;
    else this.counters.forbidden += 1;
    this.refusals.warn(refusal.code, { connector: this.id, remote: req.socket.remoteAddress, detail: refusal.message }, 'HL7 HTTP request refused: not authenticated or not allowed');
    writeAuthRefusal(res, refusal);
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
  checkSecurity: (config, options, auth) => {
    if (options.bearerTokenEnv) {
      throw new HubError('CONFIG_CONNECTOR_OPTION_REPLACED',
        `connector "${config.id}" (hl7v2-http): options.bearerTokenEnv was replaced by options.auth; keep the static token with auth: { mode: shared-token, tokenEnv: ${options.bearerTokenEnv} } (legacy), or remove it to require bearer JWTs with system/*.write (the default)`,
        { path: `connectors.${config.id}.options.bearerTokenEnv` });
    }
    checkIntakeAuthConfig(config, options.auth, options.tls, auth);
  },
};

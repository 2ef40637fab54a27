import type http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OperationOutcome } from 'fhir/r4.js';
import { HubError } from '../../hub/core/hubError.ts';
import { operationOutcome, type IssueType, type OutcomeIssue } from '../../hub/core/operationOutcome.ts';
import type { Connector, ConnectorContext, ConnectorHealth, ConnectorKind } from '../connector.ts';
import { fhirIntakeFor, type FhirIntake, type FhirIntakeResult } from '../fhir/fhirIntake.ts';
import { readBody } from '../hl7v2-http/httpBody.ts';
import { decodeContent } from './contentEncoding.ts';
import { fhirRouteOf } from './fhirRoute.ts';
import { pushCapabilityStatement } from './pushCapabilityStatement.ts';
import { closeHttpServer, createHttpServer, listenOn, type ListenerTls } from '../listenerServer.ts';
import { listenerHealth } from '../listenerHealth.ts';
import { checkIntakeAuthConfig, IntakeAuthenticator, writeAuthRefusal, type IntakeAuthOptions, type IntakeAuthRefusal } from '../intakeAuth.ts';
import { RateLimitedLog } from '../rateLimitedLog.ts';

/** `definitions.fhirHttpOptions` in schemas/config.schema.json; defaults come from there. */
export interface FhirHttpOptions {
  path: string;
  maxBodyBytes: number;
  stopGraceMs: number;
  tls?: ListenerTls;
  /** who may send (connectors/intakeAuth.ts); bearer JWT by default */
  auth: IntakeAuthOptions;
}

/** `application/json+fhir` is the DSTU2 name some older senders still use. */
const ACCEPTED_TYPES = ['application/fhir+json', 'application/json', 'application/json+fhir'];
const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/**
 * FHIR pushed to the hub on its own listener: `POST {path}` of a resource or a Bundle (batch,
 * transaction, collection, message), `POST {path}/{Type}` and `PUT {path}/{Type}/{id}`.
 * Each accepted input is one Kafka record, and the answer is `202 Accepted` only once Kafka
 * confirmed it: the hub has taken responsibility for the input but has not processed it yet,
 * so it does not pretend to per-entry results (a transaction-response) or a Location it does
 * not know. Refusals are OperationOutcomes naming the path; Kafka not confirming is a 503.
 * Every request but `GET {path}/metadata` is authenticated first, from headers and the TLS
 * session, before its body is read; a bearer token must grant `system/` write on each resource
 * type sent (the URL's type before the body is read, a Bundle's entry types once it is parsed).
 * `GET {path}` (status and counters) needs the same credentials.
 */
export class FhirHttpConnector implements Connector {
  readonly kind = 'fhir-http';
  readonly id: string;
  private server: http.Server | undefined;
  private readonly intake: FhirIntake;
  private readonly counters = { requests: 0, notFound: 0, unauthorized: 0, forbidden: 0 };
  private boundPort: number | undefined;
  private startedAt = new Date().toISOString();
  private authenticator: IntakeAuthenticator | undefined;
  private readonly refusals: RateLimitedLog;

  constructor(private readonly ctx: ConnectorContext, private readonly options: FhirHttpOptions) {
    this.id = ctx.config.id;
    this.intake = fhirIntakeFor(ctx);
    this.refusals = new RateLimitedLog(ctx.log);
  }

  get port(): number | undefined {
    return this.boundPort;
  }

  async start(): Promise<void> {
    this.authenticator = await IntakeAuthenticator.create(this.options.auth, this.ctx.hub.auth);
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((err: unknown) => {
        this.ctx.log.error({ connector: this.id, err: (err as Error).message }, 'FHIR HTTP request failed');
        if (!res.headersSent) this.send(res, 500, operationOutcome({ code: 'exception', diagnostics: 'the hub failed while handling the request; nothing was accepted, please resend', hubCode: 'INTERNAL' }));
        else res.destroy();
      });
    };
    const t = this.options.tls;
    this.server = createHttpServer(t, handler);
    const host = this.ctx.config.host ?? '127.0.0.1';
    const port = this.ctx.config.port ?? 2590;
    this.startedAt = new Date().toISOString();
    this.boundPort = await listenOn(this.server, this.id, host, port);
    this.ctx.log.info({ connector: this.id, url: `${t ? 'https' : 'http'}://${host}:${this.boundPort}${this.options.path}`, auth: this.options.auth.mode }, 'FHIR HTTP listener started');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.counters.requests += 1;
    const route = fhirRouteOf(req.method ?? '', new URL(req.url ?? '/', 'http://hub').pathname, this.options.path);
    // what the endpoint can do is public, as the API's /metadata is; clients read it before writing
    if (route.kind === 'metadata') {
      res.statusCode = 200;
      res.setHeader('content-type', FHIR_JSON);
      res.end(JSON.stringify(pushCapabilityStatement(`http://${req.headers.host ?? 'localhost'}${this.options.path}`, this.startedAt)));
      return;
    }
    const auth = await this.authenticator!.authenticate(req);
    if (!auth.ok) return this.refuse(req, res, auth.refusal);
    if (route.kind === 'not-found') {
      this.counters.notFound += 1;
      return this.refuseTransport(res, 404, 'not-found', 'HTTP_NOT_FOUND', `nothing at ${route.pathname}; FHIR is accepted at POST ${this.options.path} and PUT ${this.options.path}/{type}/{id}`);
    }
    if (route.kind === 'health') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ connector: this.id, ...this.health(), metrics: this.metrics() }));
      return;
    }
    if (route.kind === 'method-not-allowed') {
      res.setHeader('allow', route.allow);
      return this.refuseTransport(res, 405, 'not-supported', 'HTTP_METHOD_NOT_ALLOWED', `${req.method ?? ''} is not supported here; allowed: ${route.allow}`);
    }
    if (route.expect && !auth.caller.mayWrite(route.expect.resourceType)) {
      return this.refuse(req, res, { status: 403, code: 'HTTP_FORBIDDEN', message: `the token's scopes do not allow writing ${route.expect.resourceType}; it needs system/${route.expect.resourceType}.write or system/*.write` });
    }
    const meta = {
      remoteAddress: `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? ''}`, ...(route.expect ? { expect: route.expect } : {}),
      mayWrite: auth.caller.mayWrite,
    };
    const contentProblem = contentTypeProblem(req.headers['content-type']);
    const body = await readBody(req, this.options.maxBodyBytes);
    if (body === 'too-large') {
      const declared = Number(req.headers['content-length'] ?? 0);
      const error = new HubError('HTTP_BODY_TOO_LARGE', `request body${declared > 0 ? ` of ${declared} bytes` : ''} exceeds the ${this.options.maxBodyBytes}-byte limit of connector ${this.id}; send smaller Bundles`);
      return this.answer(res, await this.intake.refuse(Buffer.alloc(0), declared, 413, error, meta, true));
    }
    if (contentProblem) {
      return this.answer(res, await this.intake.refuse(body, body.length, 415, new HubError('HTTP_CONTENT_TYPE_UNSUPPORTED', contentProblem), meta));
    }
    const decoded = decodeContent(body, req.headers['content-encoding'], this.options.maxBodyBytes);
    if (!decoded.ok) {
      const code = decoded.status === 413 ? 'HTTP_BODY_TOO_LARGE' : decoded.status === 415 ? 'HTTP_CONTENT_ENCODING_UNSUPPORTED' : 'HTTP_CONTENT_ENCODING_INVALID';
      return this.answer(res, await this.intake.refuse(body, body.length, decoded.status, new HubError(code, decoded.message), meta));
    }
    return this.answer(res, await this.intake.accept(decoded.body, meta));
  }

  private refuse(req: IncomingMessage, res: ServerResponse, refusal: IntakeAuthRefusal): void {
    if (refusal.status === 401) this.counters.unauthorized += 1;
    else this.counters.forbidden += 1;
    this.refusals.warn(refusal.code, { connector: this.id, remote: req.socket.remoteAddress, detail: refusal.message }, 'FHIR push request refused: not authenticated or not allowed');
    writeAuthRefusal(res, refusal);
  }

  private answer(res: ServerResponse, result: FhirIntakeResult): void {
    if (result.outcome === 'accepted') {
      const { input } = result;
      const what = input.bundleType ? `Bundle (${input.bundleType}) of ${input.resourceCount} entries` : input.resourceType;
      res.setHeader('x-hub-control-id', result.controlId);
      this.send(res, 202, operationOutcome({ severity: 'information', code: 'informational', diagnostics: `${what} accepted for processing (control id ${result.controlId})` }));
      return;
    }
    if (result.outcome === 'forbidden') {
      this.counters.forbidden += 1;
      this.send(res, 403, operationOutcome({ code: 'forbidden', diagnostics: result.error.message, hubCode: result.error.code, ...(result.error.detail.path ? { expression: [result.error.detail.path] } : {}) }));
      return;
    }
    if (result.outcome === 'store-failed') {
      res.setHeader('retry-after', '5');
      this.send(res, 503, operationOutcome({ code: 'transient', diagnostics: `not accepted: the hub could not store the input (${result.error.message}); please resend`, hubCode: result.error.code }));
      return;
    }
    const issues: OutcomeIssue[] = [{
      code: issueTypeOf(result.status, result.error.code), diagnostics: result.error.message, hubCode: result.error.code,
      ...(result.error.detail.path ? { expression: [result.error.detail.path] } : {}),
    }];
    if (!result.deadLettered) issues.push({ severity: 'warning', code: 'transient', diagnostics: 'the refused input could not be kept for inspection; keep your copy' });
    this.send(res, result.status, operationOutcome(...issues));
  }

  /** Requests that are not an input at all (wrong URL or method): answered, not dead-lettered. */
  private refuseTransport(res: ServerResponse, status: number, type: IssueType, code: string, message: string): void {
    this.send(res, status, operationOutcome({ code: type, diagnostics: message, hubCode: code }));
  }

  private send(res: ServerResponse, status: number, outcome: OperationOutcome): void {
    res.statusCode = status;
    res.setHeader('content-type', FHIR_JSON);
    res.end(JSON.stringify(outcome));
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
    this.ctx.log.info({ connector: this.id }, 'FHIR HTTP listener stopped');
  }
}

/** Why a Content-Type is not FHIR JSON, or undefined when it is. */
function contentTypeProblem(header: string | undefined): string | undefined {
  if (!header) return `no content type; send ${ACCEPTED_TYPES[0]}`;
  const [mediaType = '', ...params] = header.split(';').map((s) => s.trim().toLowerCase());
  if (!ACCEPTED_TYPES.includes(mediaType)) return `content type "${mediaType}" is not FHIR JSON; use ${ACCEPTED_TYPES.join(' or ')}`;
  const charset = params.find((p) => p.startsWith('charset='))?.slice(8).replace(/"/g, '');
  if (charset && charset !== 'utf-8' && charset !== 'utf8') return `charset "${charset}" is not accepted; FHIR JSON is UTF-8`;
  return undefined;
}

function issueTypeOf(status: number, code: string): IssueType {
  if (status === 413) return 'too-long';
  if (status === 415 || code === 'FHIR_RESOURCE_TYPE_UNKNOWN' || code === 'FHIR_BUNDLE_TYPE_UNSUPPORTED') return 'not-supported';
  if (code === 'FHIR_JSON_INVALID' || code === 'FHIR_DECODE_FAILED') return 'structure';
  if (code === 'FHIR_RESOURCE_TYPE_MISSING') return 'required';
  return status === 422 ? 'processing' : 'invalid';
}

export const fhirHttpKind: ConnectorKind<FhirHttpOptions> = {
  kind: 'fhir-http',
  optionsSchema: 'fhirHttpOptions',
  create: (ctx, options) => new FhirHttpConnector(ctx, options),
  checkSecurity: (config, options, auth) => checkIntakeAuthConfig(config, options.auth, options.tls, auth),
};

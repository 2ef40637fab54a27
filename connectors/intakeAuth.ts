import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { AuthConfig } from '../hub/auth/authConfig.ts';
import { scopesAllow, type ResourceScope } from '../hub/auth/smartScopes.ts';
import { TokenVerifier } from '../hub/auth/tokenVerifier.ts';
import type { ConnectorConfig } from '../hub/config/hubConfig.ts';
import { HubError, isHubError } from '../hub/core/hubError.ts';
import { operationOutcome } from '../hub/core/operationOutcome.ts';
import type { ListenerTls } from './listenerServer.ts';
import { isLoopbackHost } from './networkAddress.ts';

/**
 * How an HTTP intake (hl7v2-http, fhir-http) knows who is sending: `definitions.intakeAuth` in
 * schemas/config.schema.json, the `auth` option of those kinds.
 * - `bearer` (default): a JWT checked by the API's verifier (the hub's `auth:` keys, issuer and
 *   audience) carrying a `system/` write scope for what is sent.
 * - `mtls`: a client certificate signed by `tls.caFile`, optionally one of `clientNames`.
 * - `shared-token`: legacy, a static token from the environment variable `tokenEnv`, for HL7
 *   HTTP senders that cannot fetch a JWT; it names no scope and cannot be revoked per sender.
 * - `none`: only on a loopback host (a local test, a sidecar).
 */
export type IntakeAuthMode = 'bearer' | 'mtls' | 'shared-token' | 'none';

export interface IntakeAuthOptions {
  mode: IntakeAuthMode;
  /** mtls: client certificate names accepted (subject CN or a DNS subjectAltName); any certificate the CA signed when absent */
  clientNames?: string[];
  /** shared-token: the environment variable holding the token */
  tokenEnv?: string;
}

/** An authenticated sender and the resource types it may write. */
export interface IntakeCaller {
  /** token subject, certificate name, or the mode: for logs */
  who: string;
  mayWrite(resourceType: string): boolean;
}

export interface IntakeAuthRefusal {
  status: 401 | 403;
  code: 'HTTP_UNAUTHORIZED' | 'HTTP_FORBIDDEN';
  message: string;
  /** WWW-Authenticate value of a bearer refusal */
  challenge?: string;
}

export type IntakeAuthResult = { ok: true; caller: IntakeCaller } | { ok: false; refusal: IntakeAuthRefusal };

const REALM = 'hub-intake';

function configError(config: ConnectorConfig, key: string, message: string): HubError {
  return new HubError('CONFIG_CONNECTOR_AUTH', `connector "${config.id}" (${config.kind}): ${message}`, { path: `connectors.${config.id}.options.${key}` });
}

/** Whether the TLS options ask every client for a certificate signed by a CA of our own. */
export function requiresClientCertificate(tls: ListenerTls | undefined): boolean {
  return Boolean(tls?.requestClientCert && tls.caFile);
}

/**
 * Refuses, before anything listens, an intake configuration that would let anyone on the
 * network send: `none` off loopback, `mtls` without a client CA, `bearer` without keys to check
 * tokens with, or with the quick-start dev secret on a reachable address.
 */
export function checkIntakeAuthConfig(config: ConnectorConfig, auth: IntakeAuthOptions, tls: ListenerTls | undefined, hubAuth: AuthConfig | undefined): void {
  const host = config.host ?? '127.0.0.1';
  if (auth.clientNames && auth.mode !== 'mtls') throw configError(config, 'auth.clientNames', 'auth.clientNames applies only to auth.mode "mtls"');
  if (auth.tokenEnv && auth.mode !== 'shared-token') throw configError(config, 'auth.tokenEnv', 'auth.tokenEnv applies only to auth.mode "shared-token"');
  switch (auth.mode) {
    case 'none':
      if (!isLoopbackHost(host)) {
        throw configError(config, 'auth.mode', `auth.mode "none" is only allowed on a loopback host, and this intake listens on ${host}; use "bearer" (tokens checked with the hub's auth keys) or "mtls" (options.tls with caFile and requestClientCert: true)`);
      }
      return;
    case 'mtls':
      if (!requiresClientCertificate(tls)) {
        throw configError(config, 'tls', 'auth.mode "mtls" needs options.tls with certFile, keyFile, caFile (the CA that signs the senders\' certificates) and requestClientCert: true');
      }
      return;
    case 'shared-token':
      if (!auth.tokenEnv) throw configError(config, 'auth.tokenEnv', 'auth.mode "shared-token" needs auth.tokenEnv, the environment variable holding the token');
      if (!process.env[auth.tokenEnv]) throw configError(config, 'auth.tokenEnv', `environment variable ${auth.tokenEnv} (auth.tokenEnv) is not set`);
      return;
    case 'bearer':
      if (!hubAuth || (!hubAuth.jwksUrl && !hubAuth.publicKeys?.length && !hubAuth.devSecret)) {
        throw configError(config, 'auth.mode', 'auth.mode "bearer" (the default) checks tokens with the hub\'s auth section, which names no jwksUrl, publicKeys or devSecret; configure auth, or use auth.mode "mtls"');
      }
      // the dev secret ships in the default config: a token signed with it proves nothing off loopback
      if (hubAuth.devSecret && !isLoopbackHost(host)) {
        throw configError(config, 'auth.mode', `auth.devSecret is only accepted while bearer intakes listen on loopback (this one listens on ${host}); configure auth.jwksUrl or auth.publicKeys and remove auth.devSecret (devSecret: null in the site file)`);
      }
  }
}

/**
 * Authenticates a request to an HTTP intake from its headers and TLS session alone, so a
 * sender that is not allowed in is answered before a byte of its body is read.
 */
export class IntakeAuthenticator {
  private constructor(
    private readonly options: IntakeAuthOptions,
    private readonly verifier: TokenVerifier | undefined,
    private readonly sharedToken: Buffer | undefined,
  ) {}

  /** After checkIntakeAuthConfig: the verifier is the API's, built from the same `auth:` section. */
  static async create(options: IntakeAuthOptions, hubAuth: AuthConfig | undefined): Promise<IntakeAuthenticator> {
    const verifier = options.mode === 'bearer' && hubAuth ? await TokenVerifier.create(hubAuth) : undefined;
    const shared = options.mode === 'shared-token' && options.tokenEnv ? Buffer.from(process.env[options.tokenEnv] ?? '') : undefined;
    return new IntakeAuthenticator(options, verifier, shared);
  }

  get mode(): IntakeAuthMode {
    return this.options.mode;
  }

  async authenticate(req: IncomingMessage): Promise<IntakeAuthResult> {
    switch (this.options.mode) {
      case 'none': return { ok: true, caller: { who: 'unauthenticated (loopback)', mayWrite: () => true } };
      case 'mtls': return this.byCertificate(req);
      case 'shared-token': return this.bySharedToken(req);
      case 'bearer': return this.byBearerToken(req);
    }
  }

  private async byBearerToken(req: IncomingMessage): Promise<IntakeAuthResult> {
    let scopes: ResourceScope[];
    let who: string;
    try {
      const principal = await this.verifier!.verify(req.headers.authorization);
      who = principal.clientId ?? principal.subject;
      scopes = principal.scopes.filter((s) => s.context === 'system');
    } catch (err) {
      if (!isHubError(err) || err.code !== 'AUTH_UNAUTHORIZED') throw err;
      const challenge = req.headers.authorization ? `Bearer realm="${REALM}", error="invalid_token"` : `Bearer realm="${REALM}"`;
      return { ok: false, refusal: { status: 401, code: 'HTTP_UNAUTHORIZED', message: err.message, challenge } };
    }
    // feeds are systems, not people: user/ and patient/ scopes do not let anyone write here
    if (!scopes.some((s) => s.grants.has('write'))) {
      return {
        ok: false,
        refusal: {
          status: 403, code: 'HTTP_FORBIDDEN', challenge: `Bearer realm="${REALM}", error="insufficient_scope", scope="system/*.write"`,
          message: 'the token grants no system/ write scope; an intake needs e.g. system/*.write (or system/Patient.write for Patients only)',
        },
      };
    }
    return { ok: true, caller: { who, mayWrite: (type) => scopesAllow(scopes, type, 'write') } };
  }

  private bySharedToken(req: IncomingMessage): IntakeAuthResult {
    const presented = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const given = Buffer.from(presented ?? '');
    if (!presented || given.length !== this.sharedToken!.length || !timingSafeEqual(given, this.sharedToken!)) {
      return { ok: false, refusal: { status: 401, code: 'HTTP_UNAUTHORIZED', message: 'a valid bearer token is required', challenge: `Bearer realm="${REALM}"` } };
    }
    return { ok: true, caller: { who: 'shared token', mayWrite: () => true } };
  }

  private byCertificate(req: IncomingMessage): IntakeAuthResult {
    const socket = req.socket as Partial<TLSSocket>;
    // the listener refuses unverified certificates in the handshake; this holds if that ever changes
    if (!socket.authorized || typeof socket.getPeerCertificate !== 'function') {
      return { ok: false, refusal: { status: 401, code: 'HTTP_UNAUTHORIZED', message: 'a client certificate signed by the intake\'s CA is required' } };
    }
    const certificate = socket.getPeerCertificate();
    const commonName = typeof certificate.subject?.CN === 'string' ? certificate.subject.CN : undefined;
    const dnsNames = (certificate.subjectaltname ?? '').split(/,\s*/).filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4));
    const names = [...(commonName ? [commonName] : []), ...dnsNames];
    const allowed = this.options.clientNames;
    if (allowed && !names.some((n) => allowed.includes(n))) {
      return { ok: false, refusal: { status: 403, code: 'HTTP_FORBIDDEN', message: `the client certificate (${names.join(', ') || 'no name'}) is not one this intake accepts (options.auth.clientNames)` } };
    }
    return { ok: true, caller: { who: commonName ?? names[0] ?? 'client certificate', mayWrite: () => true } };
  }
}

/**
 * Answers a refused request as an OperationOutcome and closes the connection: nothing of a
 * body sent with it is read, and a caller without credentials keeps no connection open.
 */
export function writeAuthRefusal(res: ServerResponse, refusal: IntakeAuthRefusal): void {
  res.statusCode = refusal.status;
  if (refusal.challenge) res.setHeader('www-authenticate', refusal.challenge);
  res.setHeader('connection', 'close');
  res.setHeader('content-type', 'application/fhir+json; charset=utf-8');
  res.end(JSON.stringify(operationOutcome({ code: refusal.status === 401 ? 'login' : 'forbidden', diagnostics: refusal.message, hubCode: refusal.code })));
}

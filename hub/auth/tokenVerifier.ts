import { createRemoteJWKSet, importJWK, importSPKI, jwtVerify, type CryptoKey, type JWK, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { HubError } from '../core/hubError.ts';
import { maxTokenLifetimeOf, type AuthConfig } from './authConfig.ts';
import { parseScopes, type ResourceScope } from './smartScopes.ts';
import { FHIR_ID } from '../core/fhirId.ts';

/** Who is calling and what they may do, from a verified token. */
export interface Principal {
  subject: string;
  clientId?: string;
  issuer: string;
  scopes: ResourceScope[];
  tokenId?: string;
  /** SMART launch context: the id of the Patient the token is about (`patient` claim), which `patient/` scopes are limited to */
  patient?: string;
}

const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

function unauthorized(message: string): HubError {
  return new HubError('AUTH_UNAUTHORIZED', message);
}

/**
 * Static keys (PEM or JWK) as a key resolver. A PEM has no algorithm or kid of its own, so the
 * token's header picks the algorithm and a kid only narrows JWKs that carry one; with several
 * candidates each is tried in turn by the verifier.
 */
class StaticKeys {
  private constructor(private readonly keys: Array<{ pem?: string; jwk?: JWK }>) {}

  static parse(texts: string[]): StaticKeys {
    const keys = texts.map((t) => t.trim()).filter(Boolean).map((t) => (t.startsWith('{') ? { jwk: JSON.parse(t) as JWK } : { pem: t }));
    if (keys.length === 0) throw new HubError('CONFIG_AUTH_KEYS', 'auth.publicKeys holds no key', { path: 'auth.publicKeys' });
    return new StaticKeys(keys);
  }

  async candidates(alg: string, kid: string | undefined): Promise<CryptoKey[]> {
    const out: CryptoKey[] = [];
    for (const k of this.keys) {
      if (k.jwk?.kid && kid && k.jwk.kid !== kid) continue;
      try {
        out.push((k.pem ? await importSPKI(k.pem, alg) : await importJWK({ ...k.jwk, alg }, alg)) as CryptoKey);
      } catch {
        // a key of another family than the token's algorithm
      }
    }
    return out;
  }
}

/**
 * Verifies bearer JWTs: signature (JWKS URL, static keys, or the dev secret), issuer, audience,
 * expiry (required) and lifetime (capped); then reads `scope` (or `scp`) into SMART scopes and `patient` into the launch context.
 */
export class TokenVerifier {
  private constructor(
    private readonly config: AuthConfig,
    private readonly remote: JWTVerifyGetKey | undefined,
    private readonly staticKeys: StaticKeys | undefined,
    private readonly devKey: Uint8Array | undefined,
  ) {}

  static async create(config: AuthConfig): Promise<TokenVerifier> {
    const remote = config.jwksUrl ? createRemoteJWKSet(new URL(config.jwksUrl)) : undefined;
    const staticKeys = config.publicKeys?.length ? StaticKeys.parse(config.publicKeys) : undefined;
    const devKey = config.devSecret ? new TextEncoder().encode(config.devSecret) : undefined;
    if (!remote && !staticKeys && !devKey) throw new HubError('CONFIG_AUTH_KEYS', 'auth is enabled but names no jwksUrl, publicKeys or devSecret', { path: 'auth' });
    return new TokenVerifier(config, remote, staticKeys, devKey);
  }

  async verify(authorization: string | undefined): Promise<Principal> {
    if (!authorization) throw unauthorized('a bearer token is required');
    const m = /^Bearer\s+([A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]*)$/i.exec(authorization.trim());
    if (!m) throw unauthorized('the Authorization header is not "Bearer <JWT>"');
    // a token without exp would be valid forever
    const options = { issuer: this.config.issuer, audience: this.config.audience, clockTolerance: this.clockTolerance, requiredClaims: ['exp'] };
    let payload: JWTPayload;
    try {
      const header = JSON.parse(Buffer.from(m[1]!.split('.')[0]!, 'base64url').toString('utf8')) as { alg?: string; kid?: string };
      const alg = String(header.alg);
      if (alg === 'HS256' && this.devKey) payload = (await jwtVerify(m[1]!, this.devKey, { ...options, algorithms: ['HS256'] })).payload;
      else if (ASYMMETRIC.includes(alg) && (this.remote || this.staticKeys)) payload = await this.verifyAsymmetric(m[1]!, alg, header.kid, options);
      else throw unauthorized(`tokens signed with ${alg} are not accepted`);
    } catch (err) {
      if (err instanceof HubError) throw err;
      const claim = err as { code?: string; claim?: string; reason?: string };
      if (claim.claim === 'exp' && claim.reason === 'missing') throw unauthorized('the bearer token has no exp claim; only tokens that expire are accepted');
      throw unauthorized(`the bearer token is not valid: ${claim.code ?? 'verification failed'}`);
    }
    this.checkLifetime(payload);
    return this.principalOf(payload);
  }

  private get clockTolerance(): number {
    return this.config.clockToleranceSeconds ?? 30;
  }

  /**
   * Refuses tokens meant to live longer than auth.maxTokenLifetimeSeconds. With iat the lifetime
   * is exp - iat (both the issuer's clock, so no tolerance). Whatever iat says, what is left,
   * exp - now, must also be within the cap (plus the clock tolerance): a token without iat is
   * accepted only in its last stretch, and a future iat does not stretch a token's life.
   */
  private checkLifetime(payload: JWTPayload): void {
    const max = maxTokenLifetimeOf(this.config);
    const exp = payload.exp!; // required and checked numeric by the verifier
    if (typeof payload.iat === 'number' && exp - payload.iat > max) {
      throw unauthorized(`the bearer token lives ${exp - payload.iat} s (exp - iat); at most ${max} s (auth.maxTokenLifetimeSeconds) is accepted`);
    }
    const left = exp - Math.floor(Date.now() / 1000);
    if (left > max + this.clockTolerance) {
      throw unauthorized(`the bearer token is valid for another ${left} s; at most ${max} s (auth.maxTokenLifetimeSeconds) is accepted`);
    }
  }

  private async verifyAsymmetric(token: string, alg: string, kid: string | undefined, options: { issuer: string; audience: string; clockTolerance: number; requiredClaims: string[] }): Promise<JWTPayload> {
    if (this.remote) return (await jwtVerify(token, this.remote, { ...options, algorithms: ASYMMETRIC })).payload;
    let last: unknown = new Error('no key for the token');
    for (const key of await this.staticKeys!.candidates(alg, kid)) {
      try {
        return (await jwtVerify(token, key, { ...options, algorithms: [alg] })).payload;
      } catch (err) {
        last = err;
        // a claim failure is the token's fault whichever key verified it
        if ((err as { code?: string }).code !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') throw err;
      }
    }
    throw last;
  }

  private principalOf(payload: JWTPayload): Principal {
    const scope = typeof payload.scope === 'string' ? payload.scope : Array.isArray(payload.scp) ? payload.scp.join(' ') : typeof payload.scp === 'string' ? payload.scp : '';
    const clientId = typeof payload.client_id === 'string' ? payload.client_id : typeof payload.azp === 'string' ? payload.azp : undefined;
    const patient = payload.patient;
    // a context the API cannot use as an id would make patient/ scopes match nothing or the wrong thing
    if (patient !== undefined && (typeof patient !== 'string' || !FHIR_ID.test(patient))) {
      throw unauthorized('the token\'s patient claim is not a FHIR Patient id');
    }
    return {
      subject: payload.sub ?? clientId ?? 'unknown',
      issuer: payload.iss ?? this.config.issuer,
      scopes: parseScopes(scope),
      ...(clientId ? { clientId } : {}),
      ...(payload.jti ? { tokenId: payload.jti } : {}),
      ...(patient !== undefined ? { patient } : {}),
    };
  }
}

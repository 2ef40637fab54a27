import { SignJWT } from 'jose';
import { HubError } from '../core/hubError.ts';
import { maxTokenLifetimeOf, type AuthConfig } from './authConfig.ts';

export const DEFAULT_DEV_TOKEN_TTL_SECONDS = 3600;

/** A token signed with the dev secret, for the quick start and tests: never for production keys. */
export async function mintDevToken(config: AuthConfig, options: { subject?: string; scope?: string; ttlSeconds?: number; patient?: string } = {}): Promise<string> {
  if (!config.devSecret) throw new HubError('AUTH_NO_DEV_SECRET', 'auth.devSecret is not set; tokens come from your identity provider', { path: 'auth.devSecret' });
  const ttl = options.ttlSeconds ?? Math.min(DEFAULT_DEV_TOKEN_TTL_SECONDS, maxTokenLifetimeOf(config));
  // a token the verifier would refuse is no use to anyone
  if (ttl > maxTokenLifetimeOf(config)) {
    throw new HubError('AUTH_TOKEN_LIFETIME_TOO_LONG', `a ${ttl} s token would outlive auth.maxTokenLifetimeSeconds (${maxTokenLifetimeOf(config)} s); ask for a shorter one`, { path: 'auth.maxTokenLifetimeSeconds' });
  }
  // `patient` is the SMART launch context that patient/ scopes are limited to
  return new SignJWT({ scope: options.scope ?? 'system/*.read', client_id: 'hub-dev', ...(options.patient ? { patient: options.patient } : {}) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(config.issuer)
    .setAudience(config.audience)
    .setSubject(options.subject ?? 'dev-user')
    .setIssuedAt()
    .setJti(crypto.randomUUID())
    .setExpirationTime(`${ttl}s`)
    .sign(new TextEncoder().encode(config.devSecret));
}

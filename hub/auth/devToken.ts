import { SignJWT } from 'jose';
import { HubError } from '../core/hubError.ts';
import type { AuthConfig } from './authConfig.ts';

/** A token signed with the dev secret, for the quick start and tests: never for production keys. */
export async function mintDevToken(config: AuthConfig, options: { subject?: string; scope?: string; ttlSeconds?: number; patient?: string } = {}): Promise<string> {
  if (!config.devSecret) throw new HubError('AUTH_NO_DEV_SECRET', 'auth.devSecret is not set; tokens come from your identity provider', { path: 'auth.devSecret' });
  // `patient` is the SMART launch context that patient/ scopes are limited to
  return new SignJWT({ scope: options.scope ?? 'system/*.read', client_id: 'hub-dev', ...(options.patient ? { patient: options.patient } : {}) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(config.issuer)
    .setAudience(config.audience)
    .setSubject(options.subject ?? 'dev-user')
    .setIssuedAt()
    .setJti(crypto.randomUUID())
    .setExpirationTime(`${options.ttlSeconds ?? 3600}s`)
    .sign(new TextEncoder().encode(config.devSecret));
}

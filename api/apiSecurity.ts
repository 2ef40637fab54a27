import type express from 'express';
import type { Db } from 'mongodb';
import type { AuthConfig } from '../hub/auth/authConfig.ts';
import { TokenVerifier } from '../hub/auth/tokenVerifier.ts';
import { HubError } from '../hub/core/hubError.ts';
import type { Logger } from '../hub/core/logger.ts';
import type { FieldProtector } from '../hub/store/fieldProtector.ts';
import { MongoAuditTrail, type AuditTrail } from '../hub/store/mongoAuditTrail.ts';
import type { ApiLimits } from './apiLimits.ts';
import { auditRequests } from './auditMiddleware.ts';
import { bearerAuthentication } from './authorization.ts';

/** Authentication, audit trail and limits for createFhirApp, from the `auth:` and `api:` config. */
export interface ApiSecurity {
  /** spread into createFhirApp's deps */
  deps: { authenticate?: express.RequestHandler; audit: express.RequestHandler; limits: Partial<ApiLimits> };
  /** where the listener records requests refused before express saw them (listenApi) */
  trail: AuditTrail;
  /** drains the audit queue */
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export async function apiSecurity(
  config: { auth?: AuthConfig; api: { host: string; limits?: Record<string, number> } },
  db: Db,
  log: Logger,
  /** encryption at rest: AuditEvents (their queries name patients) sealed like other sealed types */
  protection?: FieldProtector,
): Promise<ApiSecurity> {
  const auth = config.auth;
  let authenticate: express.RequestHandler | undefined;
  if (auth?.enabled) {
    // the dev secret is in the default config for the quick start: never on a reachable address
    if (auth.devSecret && !LOOPBACK.has(config.api.host)) {
      throw new HubError('CONFIG_AUTH_DEV_SECRET', `auth.devSecret is only accepted while api.host is loopback (it is ${config.api.host}); configure jwksUrl or publicKeys and remove devSecret`, { path: 'auth.devSecret' });
    }
    authenticate = bearerAuthentication(await TokenVerifier.create(auth), 'hub');
  } else {
    log.warn('auth.enabled is false: the FHIR API answers without a token');
  }
  const trail = new MongoAuditTrail(db, log, protection ? { protection } : {});
  return {
    deps: {
      ...(authenticate ? { authenticate } : {}),
      audit: auditRequests(trail),
      limits: (config.api.limits ?? {}) as Partial<ApiLimits>, // keys checked by schemas/config.schema.json
    },
    trail,
    close: () => trail.close(),
  };
}

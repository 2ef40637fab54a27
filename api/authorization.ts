import type { NextFunction, Request, Response } from 'express';
import { HubError } from '../hub/core/hubError.ts';
import { scopesAllow, type AccessKind } from '../hub/auth/smartScopes.ts';
import type { Principal, TokenVerifier } from '../hub/auth/tokenVerifier.ts';

/**
 * Bearer authentication and SMART scope checks for every route under /fhir but /metadata,
 * extra routers included. What a request needs is read from its path and method, so routes
 * added later are covered without registering them here.
 */
export interface RequiredAccess {
  /** a resource type, or `*` for system-level operations */
  type: string;
  access: AccessKind;
}

/** Operations that only read, whatever their HTTP method. */
const READ_OPERATIONS = new Set(['$everything', '$match', '$export', '$export-status', '$export-file', '$meta']);
const TYPE = /^[A-Z][A-Za-z]+$/;

export function requiredAccess(method: string, path: string): RequiredAccess {
  const parts = path.split('/').filter(Boolean);
  const type = parts[0] && TYPE.test(parts[0]) ? parts[0] : '*';
  const operation = parts.find((p) => p.startsWith('$'));
  const reading = method === 'GET' || method === 'HEAD' || parts[parts.length - 1] === '_search' || (operation !== undefined && READ_OPERATIONS.has(operation));
  if (!reading) return { type, access: 'write' };
  const isSearch = parts.length === 1 && type !== '*' || parts[parts.length - 1] === '_search';
  return { type, access: isSearch ? 'search' : 'read' };
}

export function principalOf(res: Response): Principal | undefined {
  return res.locals.principal as Principal | undefined;
}

/** Throws 403 unless the caller may read every one of `types` (no-op when auth is off). */
export function requireRead(res: Response, types: string[]): void {
  const principal = principalOf(res);
  if (!principal) return;
  const denied = types.find((t) => !scopesAllow(principal.scopes, t, 'read') && !scopesAllow(principal.scopes, t, 'search'));
  if (denied) throw new HubError('AUTH_FORBIDDEN', `the token's scopes do not allow reading ${denied}`, { path: denied });
}

/** Types among `types` the caller may read (all when auth is off). */
export function readableTypes(res: Response, types: string[]): string[] {
  const principal = principalOf(res);
  return principal ? types.filter((t) => scopesAllow(principal.scopes, t, 'read')) : types;
}

export function bearerAuthentication(verifier: TokenVerifier, realm: string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    verifier.verify(req.get('authorization')).then((principal) => {
      res.locals.principal = principal;
      const need = requiredAccess(req.method, req.path);
      if (!scopesAllow(principal.scopes, need.type, need.access)) {
        throw new HubError('AUTH_FORBIDDEN', `the token's scopes do not allow ${need.access} on ${need.type === '*' ? 'all types' : need.type}`, { path: 'scope' });
      }
      next();
    }).catch((err: unknown) => {
      if (err instanceof HubError && err.code === 'AUTH_UNAUTHORIZED') {
        res.setHeader('WWW-Authenticate', `Bearer realm="${realm}", error="invalid_token"`);
      } else if (err instanceof HubError && err.code === 'AUTH_FORBIDDEN') {
        res.setHeader('WWW-Authenticate', `Bearer realm="${realm}", error="insufficient_scope"`);
      }
      next(err);
    });
  };
}

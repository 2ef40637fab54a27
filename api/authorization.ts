import type { NextFunction, Request, Response } from 'express';
import { HubError } from '../hub/core/hubError.ts';
import { patientScopesAllow, scopesAllow, type AccessKind } from '../hub/auth/smartScopes.ts';
import type { Principal, TokenVerifier } from '../hub/auth/tokenVerifier.ts';
import { PATIENT_COMPARTMENT } from '../hub/store/searchParameterTable.ts';
import { FHIR_ID } from '../hub/core/fhirId.ts';

/**
 * Bearer authentication and SMART scope checks for every route under /fhir but /metadata,
 * extra routers included. What a request needs is read from its path and method, so routes
 * added later are covered without registering them here.
 *
 * A request only `patient/` scopes allow is narrowed to the compartment of the token's launch
 * Patient: it must be one of the few route shapes whose handlers enforce that compartment
 * (patientCompartmentAccess.ts); anything else, including routes added later, is refused.
 */
export interface RequiredAccess {
  /** a resource type, or `*` for system-level operations */
  type: string;
  access: AccessKind;
}

/** Operations that only read, whatever their HTTP method. */
const READ_OPERATIONS = new Set(['$everything', '$match', '$export', '$meta']);
const TYPE = /^[A-Z][A-Za-z]+$/;

/**
 * A bulk export job's status and files (`$export-status/{id}`, `$export-file/{id}/...`) are
 * the job's, not a resource type's: the token is verified here and who may poll, download or
 * cancel is decided by bulkExportRoutes.ts from the job's owner and the caller's scopes.
 */
const JOB_OPERATIONS = new Set(['$export-status', '$export-file']);

export function authorizedByHandler(path: string): boolean {
  const first = path.split('/').filter(Boolean)[0];
  return first !== undefined && JOB_OPERATIONS.has(first);
}

/** Whether `system/` scopes (backend services, not a user's or patient's grant) give `access` on `type`. */
export function systemScopesAllow(principal: Principal, type: string, access: AccessKind): boolean {
  return scopesAllow(principal.scopes.filter((s) => s.context === 'system'), type, access);
}

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

/** Whether this request is allowed by `patient/` scopes only, so its handler must keep to the launch Patient's compartment. */
export function narrowedToPatient(res: Response): boolean {
  return res.locals.patientNarrowed === true;
}

/**
 * The routes that enforce the patient compartment: search (GET, POST _search), read, vread and
 * instance history of Patient and the compartment types, and Patient/{id}/$everything.
 */
function compartmentRoute(method: string, path: string): boolean {
  const parts = path.split('/').filter(Boolean);
  const [type = '', id = '', third, vid] = parts;
  if (type !== 'Patient' && !PATIENT_COMPARTMENT[type]) return false;
  const get = method === 'GET' || method === 'HEAD';
  if (parts.length === 1) return get;
  if (parts.length === 2 && id === '_search') return method === 'POST';
  if (!get || !FHIR_ID.test(id)) return false;
  if (parts.length === 2) return true;
  if (parts.length === 3) return third === '_history' || (type === 'Patient' && third === '$everything');
  return parts.length === 4 && third === '_history' && /^\d{1,12}$/.test(vid ?? '');
}

/** Throws 403 unless a request allowed by `patient/` scopes only can be kept to the launch Patient's compartment. */
function requirePatientNarrowing(principal: Principal, method: string, path: string, need: RequiredAccess): void {
  if (!principal.patient) {
    throw new HubError('AUTH_FORBIDDEN', `the token's patient/ scopes need a patient launch context: a "patient" claim naming the Patient the token is about`, { path: 'patient' });
  }
  if (need.type !== 'Patient' && !PATIENT_COMPARTMENT[need.type]) {
    throw new HubError('AUTH_FORBIDDEN', `patient/ scopes reach only Patient and the types of the Patient compartment, not ${need.type === '*' ? 'system-level operations' : need.type}; that needs a user/ or system/ scope`, { path: 'scope' });
  }
  if (!compartmentRoute(method, path)) {
    throw new HubError('AUTH_FORBIDDEN', `patient/ scopes allow only read, vread, instance history, search and Patient/{id}/$everything within the patient's compartment; ${method} ${path} needs a user/ or system/ scope`, { path: 'scope' });
  }
}

/** Throws 403 unless the caller may read every one of `types` (no-op when auth is off). */
export function requireRead(res: Response, types: string[]): void {
  const principal = principalOf(res);
  if (!principal) return;
  const denied = types.find((t) => !scopesAllow(principal.scopes, t, 'read') && !scopesAllow(principal.scopes, t, 'search'));
  if (denied) throw new HubError('AUTH_FORBIDDEN', `the token's scopes do not allow reading ${denied}`, { path: denied });
}

/**
 * Types among `types` the caller may read (all when auth is off); in a request narrowed to the
 * patient compartment also those its `patient/` scopes grant, since the route keeps to it.
 */
export function readableTypes(res: Response, types: string[]): string[] {
  const principal = principalOf(res);
  if (!principal) return types;
  const narrowed = narrowedToPatient(res);
  return types.filter((t) => scopesAllow(principal.scopes, t, 'read') || (narrowed && patientScopesAllow(principal.scopes, t, 'read')));
}

export function bearerAuthentication(verifier: TokenVerifier, realm: string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    verifier.verify(req.get('authorization')).then((principal) => {
      res.locals.principal = principal;
      if (authorizedByHandler(req.path)) {
        next();
        return;
      }
      const need = requiredAccess(req.method, req.path);
      // a user/ or system/ grant is never narrowed by patient/ scopes beside it
      if (!scopesAllow(principal.scopes, need.type, need.access)) {
        if (!patientScopesAllow(principal.scopes, need.type, need.access)) {
          throw new HubError('AUTH_FORBIDDEN', `the token's scopes do not allow ${need.access} on ${need.type === '*' ? 'all types' : need.type}`, { path: 'scope' });
        }
        requirePatientNarrowing(principal, req.method, req.path, need);
        res.locals.patientNarrowed = true;
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

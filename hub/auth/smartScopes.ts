/**
 * SMART on FHIR scopes, v1 (`user/Patient.read`, `system/*.write`, `user/*.*`) and v2
 * (`user/Patient.rs`, `system/*.cruds`). Pure: which kind of access a set of scopes grants on a
 * resource type. `user/` and `system/` scopes grant a type outright; `patient/` scopes grant it
 * only inside the compartment of the token's launch-context Patient, so they are asked about
 * separately (patientScopesAllow) and the API narrows what they reach.
 */
export const ACCESS_KINDS = ['read', 'search', 'write'] as const;
export type AccessKind = (typeof ACCESS_KINDS)[number];

export interface ResourceScope {
  context: 'user' | 'system' | 'patient';
  /** a resource type or `*` */
  type: string;
  grants: Set<AccessKind>;
}

const SCOPE = /^(user|system|patient)\/(\*|[A-Z][A-Za-z]+)\.(read|write|\*|[cruds]+)(\?.*)?$/;

function grantsOf(permission: string): Set<AccessKind> {
  switch (permission) {
    case 'read': return new Set(['read', 'search']);
    case 'write': return new Set(['write']);
    case '*': return new Set(ACCESS_KINDS);
  }
  const g = new Set<AccessKind>();
  if (permission.includes('r')) g.add('read');
  if (permission.includes('s')) g.add('search');
  if (/[cud]/.test(permission)) g.add('write');
  return g;
}

/** Resource scopes in a space-separated scope string; other scopes (openid, launch) are ignored. */
export function parseScopes(scope: string): ResourceScope[] {
  const out: ResourceScope[] = [];
  for (const s of scope.split(/\s+/).filter(Boolean)) {
    const m = SCOPE.exec(s);
    // v2 query-restricted scopes (`?category=...`) would need filtering we do not do: not granted
    if (!m || m[4]) continue;
    out.push({ context: m[1] as ResourceScope['context'], type: m[2]!, grants: grantsOf(m[3]!) });
  }
  return out;
}

function grantedBy(s: ResourceScope, type: string, access: AccessKind): boolean {
  return (s.type === '*' || s.type === type) && s.grants.has(access);
}

/** Whether `user/` or `system/` scopes grant `access` on `type` (`*` asks for every type at once). */
export function scopesAllow(scopes: ResourceScope[], type: string, access: AccessKind): boolean {
  return scopes.some((s) => s.context !== 'patient' && grantedBy(s, type, access));
}

/**
 * Whether `patient/` scopes grant `access` on `type`: a grant limited to one Patient's
 * compartment, worth nothing without a patient launch context.
 */
export function patientScopesAllow(scopes: ResourceScope[], type: string, access: AccessKind): boolean {
  return scopes.some((s) => s.context === 'patient' && grantedBy(s, type, access));
}

import type { Response } from 'express';
import { patientScopesAllow, scopesAllow } from '../hub/auth/smartScopes.ts';
import { HubError } from '../hub/core/hubError.ts';
import type { PatientIndexReader } from '../hub/mpi/patientIndexReader.ts';
import type { IndexCriterion, StoredResource } from '../hub/store/resourceStore.ts';
import { searchIndexFor } from '../hub/store/searchIndex.ts';
import { PATIENT_COMPARTMENT } from '../hub/store/searchParameterTable.ts';
import type { ApiContext } from './apiContext.ts';
import { narrowedToPatient, principalOf } from './authorization.ts';
import type { ParsedSearch } from './searchRequest.ts';

/**
 * What SMART `patient/` scopes reach: the compartment of the token's launch-context Patient,
 * meaning the person — the golden Patient and every source Patient linked to it — and the
 * records that name one of them through their PATIENT_COMPARTMENT parameter. authorization.ts
 * decides that a request is narrowed; the routes ask here what that lets them show.
 */
export class PatientCompartment {
  private readonly references: Set<string>;

  private constructor(readonly patientIds: ReadonlySet<string>) {
    this.references = new Set([...patientIds].map((id) => `Patient/${id}`));
  }

  /**
   * The context id may name the golden record or one of its sources; either way the person is
   * the golden Patient and all its sources. A golden record merged away has lost its sources to
   * the survivor and keeps only its own id: the app reads a 410 and needs a new launch.
   */
  static async resolve(patients: PatientIndexReader, contextId: string): Promise<PatientCompartment> {
    const golden = (await patients.isGolden(contextId)) ? contextId : await patients.goldenOf(contextId);
    if (!golden) return new PatientCompartment(new Set([contextId]));
    return new PatientCompartment(new Set([contextId, golden, ...(await patients.sourcesOf(golden))]));
  }

  /** Before reading: a Patient outside the person is ruled out by its id alone (other types need the record). */
  mayHold(type: string, id: string): boolean {
    return type !== 'Patient' || this.patientIds.has(id);
  }

  /** Whether the resource is the person's, from the same index entries search runs on. */
  contains(resource: StoredResource): boolean {
    if (resource.resourceType === 'Patient') return this.patientIds.has(resource.id);
    const params = PATIENT_COMPARTMENT[resource.resourceType];
    if (!params) return false;
    const index = searchIndexFor(resource);
    return params.some((param) => {
      const entries = index[param];
      return Array.isArray(entries) && entries.some((e) => typeof e === 'string' && this.references.has(e));
    });
  }

  /** The search condition that keeps a search of `type` inside the compartment. */
  criterion(type: string): IndexCriterion {
    if (type === 'Patient') return { param: '_id', anyOf: [...this.patientIds].map((value) => ({ kind: 'entry', value })) };
    const params = PATIENT_COMPARTMENT[type] ?? [];
    // criteria all hold together: a type naming its Patient in two parameters would need an OR
    if (params.length !== 1) {
      throw new HubError('AUTH_FORBIDDEN', `${type} cannot be searched under patient/ scopes; it needs a user/ or system/ scope`, { path: 'scope' });
    }
    return { param: params[0]!, anyOf: [...this.references].map((value) => ({ kind: 'entry', value })) };
  }
}

/** The launch Patient's compartment, resolved at most once per request (routes and include filters share it). */
function contextCompartment(ctx: ApiContext, res: Response, patient: string): Promise<PatientCompartment> {
  const cached = res.locals.patientCompartment as Promise<PatientCompartment> | undefined;
  if (cached) return cached;
  const resolving = PatientCompartment.resolve(ctx.patients, patient);
  res.locals.patientCompartment = resolving;
  return resolving;
}

/** The compartment this request must keep to, or undefined when user/ or system/ scopes (or no auth) allow it. */
export async function narrowedCompartment(ctx: ApiContext, res: Response): Promise<PatientCompartment | undefined> {
  if (!narrowedToPatient(res)) return undefined;
  const patient = principalOf(res)?.patient;
  // authorization.ts refuses narrowed requests without a context; never widen if that changes
  if (!patient) throw new HubError('AUTH_FORBIDDEN', 'patient/ scopes need a patient launch context', { path: 'patient' });
  return contextCompartment(ctx, res, patient);
}

/**
 * A search kept to the compartment: its criterion joins the others before the search runs, so
 * totals and paging links count only the person's records. Chains and _has would match on
 * resources outside the compartment, so they are refused rather than resolved.
 */
export function narrowSearch(parsed: ParsedSearch, compartment: PatientCompartment): void {
  const escape = parsed.chains.length + parsed.has.length > 0
    ? parsed.pairs.find(([name]) => name.startsWith('_has:') || name.includes('.'))?.[0] ?? 'query'
    : undefined;
  if (escape !== undefined) {
    throw new HubError('AUTH_FORBIDDEN', `chained and _has parameters (${escape}) are not available under patient/ scopes; search the person's records directly`, { path: escape });
  }
  parsed.where.push(compartment.criterion(parsed.type));
}

/**
 * _include/_revinclude results the caller may see: types user/ or system/ scopes grant, and
 * records of the launch Patient's compartment that patient/ scopes grant; the rest is dropped.
 */
export async function visibleIncluded(ctx: ApiContext, res: Response, included: StoredResource[]): Promise<StoredResource[]> {
  const principal = principalOf(res);
  if (!principal) return included;
  const out: StoredResource[] = [];
  for (const r of included) {
    if (scopesAllow(principal.scopes, r.resourceType, 'read')) out.push(r);
    else if (principal.patient && patientScopesAllow(principal.scopes, r.resourceType, 'read')
      && (await contextCompartment(ctx, res, principal.patient)).contains(r)) out.push(r);
  }
  return out;
}

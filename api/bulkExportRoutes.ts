import { once } from 'node:events';
import express, { type NextFunction, type Request, type Response } from 'express';
import { HubError } from '../hub/core/hubError.ts';
import type { ExportJob, ExportJobStore } from '../hub/store/exportJobs.ts';
import { fhirDateRange } from '../hub/store/fhirDateRange.ts';
import type { IndexCriterion, ResourceStore } from '../hub/store/resourceStore.ts';
import { PATIENT_COMPARTMENT, SEARCHABLE_TYPES } from '../hub/store/searchParameterTable.ts';
import type { Principal } from '../hub/auth/tokenVerifier.ts';
import { scopesAllow } from '../hub/auth/smartScopes.ts';
import { principalOf, readableTypes, systemScopesAllow } from './authorization.ts';
import { sendResource } from './fhirResponse.ts';
import { queryPairs } from './searchRequest.ts';

/**
 * FHIR Bulk Data export for data teams: `GET /$export` and `GET /Patient/$export` (with
 * `Prefer: respond-async`) answer 202 with a status URL; the status is the manifest at once,
 * because each NDJSON file is streamed from the store when it is downloaded, limited to the
 * job's transaction time. `_type`, `_since` and `_outputFormat` are supported.
 *
 * Who may do what, after the Bulk Data spec's intent that the status and files belong to the
 * client that asked (`requiresAccessToken`):
 * - kick-off: read on the exported types (`Patient/$export`: on Patient; `/$export`: on all);
 *   the job keeps only the requested types the token may read, and none is a 403;
 * - status (GET): the owner (same issuer and subject), or a `system/` scope reading every type
 *   of the job (a backend service that could export the same itself);
 * - file download: the owner while its token still reads that type, or a `system/` scope
 *   reading it;
 * - cancel (DELETE): the owner, whatever its scopes (it is its own request), or a `system/`
 *   scope writing every type (`system/*.write`, `system/*.*`); reading alone is not enough.
 * A caller who may not see a job gets 404, as for an absent one; one who sees it but may not
 * do what it asks gets 403.
 */
export interface BulkExportDeps {
  store: ResourceStore;
  jobs: ExportJobStore;
  base: string;
}

const NDJSON_FORMATS = new Set(['application/fhir+ndjson', 'application/ndjson', 'ndjson']);
const PATIENT_LEVEL_TYPES = ['Patient', ...Object.keys(PATIENT_COMPARTMENT).sort()];
// security records are exported only when asked for by name
const SYSTEM_TYPES = SEARCHABLE_TYPES.filter((t) => t !== 'AuditEvent').sort();

type Handler = (req: Request, res: Response) => Promise<void>;
const wrap = (h: Handler) => (req: Request, res: Response, next: NextFunction): void => { h(req, res).catch(next); };

function kickOff(deps: BulkExportDeps, level: ExportJob['level']): Handler {
  return async (req, res) => {
    if (!/respond-async/.test(req.get('prefer') ?? '')) {
      throw new HubError('API_EXPORT_PREFER_REQUIRED', 'bulk export needs the header Prefer: respond-async', { path: 'Prefer' });
    }
    const allowed = level === 'patient' ? PATIENT_LEVEL_TYPES : SEARCHABLE_TYPES;
    let types = level === 'patient' ? PATIENT_LEVEL_TYPES : SYSTEM_TYPES;
    let since: string | undefined;
    for (const [name, value] of queryPairs(req.originalUrl)) {
      switch (name) {
        case '_outputFormat':
          if (!NDJSON_FORMATS.has(value)) throw new HubError('API_PARAMETER_INVALID', `_outputFormat ${value} is not supported (application/fhir+ndjson)`, { path: name });
          break;
        case '_type': {
          const wanted = value.split(',').map((t) => t.trim());
          const unknown = wanted.find((t) => !allowed.includes(t));
          if (unknown) throw new HubError('API_PARAMETER_INVALID', `_type: ${unknown} cannot be exported at this level`, { path: name });
          types = wanted;
          break;
        }
        case '_since': {
          const range = fhirDateRange(value);
          if (!range) throw new HubError('API_PARAMETER_INVALID', '_since must be a FHIR instant', { path: name });
          since = range.lo;
          break;
        }
        default:
          throw new HubError('API_PARAMETER_UNKNOWN', `${name} is not supported by $export`, { path: name });
      }
    }
    const principal = principalOf(res);
    const readable = readableTypes(res, types);
    if (readable.length === 0) throw new HubError('AUTH_FORBIDDEN', `the token's scopes allow reading none of ${types.join(', ')}`, { path: '_type' });
    const job = await deps.jobs.create({
      level, types: readable, transactionTime: new Date().toISOString(), request: `${deps.base}${req.url}`,
      ...(since ? { since } : {}), ...(principal ? { owner: principal.subject, ownerIssuer: principal.issuer } : {}),
    });
    res.setHeader('Content-Location', `${deps.base}/$export-status/${job.id}`);
    res.status(202).end();
  };
}

type JobAction = { kind: 'status' } | { kind: 'download'; type: string } | { kind: 'cancel' };

function isOwner(principal: Principal, job: ExportJob): boolean {
  return job.owner !== undefined && job.owner === principal.subject && (job.ownerIssuer ?? principal.issuer) === principal.issuer;
}

function systemWritesAll(principal: Principal, job: ExportJob): boolean {
  return job.types.every((t) => systemScopesAllow(principal, t, 'write'));
}

function systemReadsAll(principal: Principal, types: string[]): boolean {
  return types.every((t) => systemScopesAllow(principal, t, 'read'));
}

/** The job, if the caller may see it and do `action` with it (anyone when auth is off). */
async function jobFor(deps: BulkExportDeps, res: Response, id: string, action: JobAction): Promise<ExportJob> {
  const job = /^[0-9a-f-]{36}$/.test(id) ? await deps.jobs.get(id) : undefined;
  const principal = principalOf(res);
  if (!job || !principal) {
    if (!job) throw new HubError('API_EXPORT_NOT_FOUND', `export ${id} is not known`, { path: 'id' });
    return job;
  }
  const owner = isOwner(principal, job);
  // another caller's job is as good as absent, unless a system scope could export it anyway
  if (!owner && !systemReadsAll(principal, job.types) && !systemWritesAll(principal, job)) {
    throw new HubError('API_EXPORT_NOT_FOUND', `export ${id} is not known`, { path: 'id' });
  }
  switch (action.kind) {
    case 'status':
      if (owner || systemReadsAll(principal, job.types)) return job;
      throw new HubError('AUTH_FORBIDDEN', `polling export ${id} needs its owner's token or a system/ scope reading ${job.types.join(', ')}`, { path: 'scope' });
    case 'download':
      if ((owner && scopesAllow(principal.scopes, action.type, 'read')) || systemScopesAllow(principal, action.type, 'read')) return job;
      throw new HubError('AUTH_FORBIDDEN', `the token's scopes do not allow reading ${action.type}`, { path: 'scope' });
    case 'cancel':
      if (owner || systemWritesAll(principal, job)) return job;
      throw new HubError('AUTH_FORBIDDEN', `cancelling export ${id} needs its owner's token or a system/ scope writing ${job.types.join(', ')} (e.g. system/*.write); reading is not enough`, { path: 'scope' });
  }
}

function criteriaOf(job: ExportJob, type: string): IndexCriterion[] {
  const lastUpdated = [{ kind: 'date' as const, prefix: 'le' as const, range: { lo: job.transactionTime, hi: job.transactionTime } }];
  const where: IndexCriterion[] = [{ param: '_lastUpdated', anyOf: lastUpdated }];
  if (job.since) where.push({ param: '_lastUpdated', anyOf: [{ kind: 'date', prefix: 'ge', range: { lo: job.since, hi: job.since } }] });
  const compartment = PATIENT_COMPARTMENT[type]?.[0];
  if (job.level === 'patient' && type !== 'Patient' && compartment) where.push({ param: compartment, missing: false });
  return where;
}

export function bulkExportRoutes(deps: BulkExportDeps): express.Router {
  const router = express.Router();
  router.get('/\\$export', wrap(kickOff(deps, 'system')));
  router.get('/Patient/\\$export', wrap(kickOff(deps, 'patient')));

  router.get('/\\$export-status/:id', wrap(async (req, res) => {
    const job = await jobFor(deps, res, req.params.id as string, { kind: 'status' });
    const output: Array<{ type: string; url: string; count: number }> = [];
    for (const type of job.types) {
      const { total = 0 } = await deps.store.search(type, { criteria: [], where: criteriaOf(job, type), count: 0, total: true });
      if (total > 0) output.push({ type, url: `${deps.base}/$export-file/${job.id}/${type}.ndjson`, count: total });
    }
    res.setHeader('Expires', new Date(Date.now() + 24 * 3600_000).toUTCString());
    sendResource(req, res, { transactionTime: job.transactionTime, request: job.request, requiresAccessToken: principalOf(res) !== undefined, output, error: [] });
  }));

  router.delete('/\\$export-status/:id', wrap(async (req, res) => {
    const job = await jobFor(deps, res, req.params.id as string, { kind: 'cancel' });
    await deps.jobs.delete(job.id);
    res.status(202).end();
  }));

  router.get('/\\$export-file/:id/:file', wrap(async (req, res) => {
    const type = /^([A-Z][A-Za-z]+)\.ndjson$/.exec(req.params.file as string)?.[1] ?? '';
    const job = await jobFor(deps, res, req.params.id as string, { kind: 'download', type });
    if (!type || !job.types.includes(type)) throw new HubError('API_EXPORT_NOT_FOUND', `export ${job.id} has no file ${req.params.file}`, { path: 'file' });
    res.status(200).type('application/fhir+ndjson');
    try {
      for await (const resource of deps.store.scan(type, { criteria: [], where: criteriaOf(job, type) })) {
        if (!res.write(`${JSON.stringify(resource)}\n`)) await once(res, 'drain');
      }
      res.end();
    } catch (err) {
      if (!res.headersSent) throw err;
      res.destroy(err as Error); // mid-stream: the client sees a cut file, not a fake end
    }
  }));
  return router;
}

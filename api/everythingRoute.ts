import express, { type NextFunction, type Request, type Response } from 'express';
import { HubError } from '../hub/core/hubError.ts';
import { fhirDateRange } from '../hub/store/fhirDateRange.ts';
import type { StoredResource } from '../hub/store/resourceStore.ts';
import { PATIENT_COMPARTMENT } from '../hub/store/searchParameterTable.ts';
import type { ApiContext } from './apiContext.ts';
import { readableTypes } from './authorization.ts';
import { sendResource } from './fhirResponse.ts';
import { narrowedCompartment } from './patientCompartmentAccess.ts';
import { checkTypeAndId, refuseMergedPatient } from './readRoutes.ts';
import { searchsetBundle } from './searchBundle.ts';
import { queryPairs, type QueryPairs } from './searchRequest.ts';

/**
 * `Patient/{id}/$everything`, the patient 360: the golden Patient and its source Patients,
 * then every compartment resource that refers to any of them, type by type, paged with
 * `_count`/`_offset` across the whole sequence. `_type` and `_since` narrow it.
 */
interface EverythingParams {
  count: number;
  offset: number;
  types: string[];
  since?: string;
}

function paramsOf(ctx: ApiContext, pairs: QueryPairs): EverythingParams {
  const p: EverythingParams = { count: ctx.limits.defaultCount, offset: 0, types: ['Patient', ...Object.keys(PATIENT_COMPARTMENT).sort()] };
  for (const [name, value] of pairs) {
    const bad = (msg: string): HubError => new HubError('API_PARAMETER_INVALID', msg, { path: name });
    switch (name) {
      case '_count':
        if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > ctx.limits.maxCount) throw bad(`_count must be an integer from 1 to ${ctx.limits.maxCount}`);
        p.count = Number(value); break;
      case '_offset':
        if (!/^\d+$/.test(value)) throw bad('_offset must be a non-negative integer');
        p.offset = Number(value); break;
      case '_type': {
        const wanted = value.split(',');
        const unknown = wanted.find((t) => t !== 'Patient' && !PATIENT_COMPARTMENT[t]);
        if (unknown) throw bad(`_type: ${unknown} is not in the Patient compartment`);
        p.types = p.types.filter((t) => wanted.includes(t)); break;
      }
      case '_since': {
        const range = fhirDateRange(value);
        if (!range) throw bad('_since must be a FHIR instant');
        p.since = range.lo; break;
      }
      case '_format': case '_pretty': break;
      default: throw new HubError('API_PARAMETER_UNKNOWN', `unknown parameter "${name}" for $everything`, { path: name });
    }
  }
  return p;
}

export function everythingRoute(ctx: ApiContext): express.Router {
  const router = express.Router();
  router.get('/Patient/:id/\\$everything', (req: Request, res: Response, next: NextFunction) => {
    everything(ctx, req, res).catch(next);
  });
  return router;
}

async function everything(ctx: ApiContext, req: Request, res: Response): Promise<void> {
  const id = req.params.id as string;
  checkTypeAndId('Patient', id);
  const pairs = queryPairs(req.originalUrl);
  const params = paramsOf(ctx, pairs);
  // under patient/ scopes only the person's own golden or source id; another's answers as absent
  const compartment = await narrowedCompartment(ctx, res);
  if (compartment && !compartment.mayHold('Patient', id)) throw new HubError('API_RESOURCE_NOT_FOUND', `Patient/${id} is not known`, { path: 'id' });
  // the patient 360 shows only what the token may read
  params.types = readableTypes(res, params.types);
  // the merge check, the golden record and its sources are independent reads: side by side
  const [, golden, linked] = await Promise.all([
    refuseMergedPatient(ctx, res, 'Patient', id), ctx.store.read('Patient', id), ctx.patients.sourcesOf(id),
  ]);
  if (!golden) throw new HubError('API_RESOURCE_NOT_FOUND', `Patient/${id} is not known`, { path: 'id' });
  const sources = linked.filter((s) => s !== id);
  const refs = [id, ...sources].map((p) => `Patient/${p}`);

  // by id through the store's patient postings: on FerretDB any other query scans a whole
  // collection. One patient's records fit in memory (bounded below), so paging is done here.
  // Every type is fetched at once; the sum is checked against the limit afterwards.
  const sinceTime = params.since;
  const changedSince = (r: StoredResource): boolean => !sinceTime || (r.meta?.lastUpdated ?? '') >= sinceTime;
  const perType = await Promise.all(params.types.map(async (type) => {
    const found = type === 'Patient'
      ? [golden, ...(sources.length ? await ctx.store.readMany('Patient', sources) : [])]
      : await ctx.store.inPatientCompartment(type, refs);
    const kept = found.filter(changedSince);
    kept.sort((a, b) => (a.id === id ? -1 : b.id === id ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return kept;
  }));
  const all: StoredResource[] = [];
  for (const kept of perType) {
    all.push(...kept);
    if (all.length > ctx.limits.maxIntermediateMatches) {
      throw new HubError('API_SEARCH_TOO_COSTLY', `Patient/${id} has more than ${ctx.limits.maxIntermediateMatches} records; narrow $everything with _type or _since`, { path: 'id', httpStatus: 422 });
    }
  }
  const total = all.length;
  const page = all.slice(params.offset, params.offset + params.count);
  res.locals.auditResources = [golden];
  sendResource(req, res, searchsetBundle({
    base: ctx.base,
    page: { url: `${ctx.base}/Patient/${id}/$everything`, pairs, offset: params.offset, count: params.count },
    matches: page, included: [], total,
  }));
}

import express, { type NextFunction, type Request, type Response } from 'express';
import { HubError } from '../hub/core/hubError.ts';
import { SEARCH_PARAMETERS } from '../hub/store/searchParameterTable.ts';
import { TYPES_WITHOUT_HISTORY, type StoredResource } from '../hub/store/resourceStore.ts';
import type { ApiContext } from './apiContext.ts';
import { sendResource } from './fhirResponse.ts';
import { historyBundle, versionEtag } from './historyBundle.ts';
import { parseHistory } from './historyRequest.ts';
import { narrowedCompartment, type PatientCompartment } from './patientCompartmentAccess.ts';
import { viewOf } from './resourceView.ts';
import { queryPairs, SUMMARY_MODES, type SummaryMode } from './searchRequest.ts';
import { FHIR_ID } from '../hub/core/fhirId.ts';

/** read, vread, instance and type history, with ETag / If-None-Match and 410 for merged-away Patients. */
export const RESOURCE_TYPE = /^[A-Z][A-Za-z]{1,63}$/;
export const RESOURCE_ID = FHIR_ID;

type Handler = (req: Request, res: Response) => Promise<void>;
const wrap = (h: Handler) => (req: Request, res: Response, next: NextFunction): void => { h(req, res).catch(next); };

export function checkTypeAndId(type: string, id?: string): void {
  if (!RESOURCE_TYPE.test(type)) throw new HubError('API_TYPE_NOT_FOUND', `"${type}" is not a resource type`, { path: 'type' });
  if (id !== undefined && !RESOURCE_ID.test(id)) throw new HubError('API_ID_INVALID', `"${id}" is not a valid id`, { path: 'id' });
}

/** A golden Patient merged into another answers 410 naming the survivor. */
export async function refuseMergedPatient(ctx: ApiContext, res: Response, type: string, id: string): Promise<void> {
  if (type !== 'Patient') return;
  const survivor = await ctx.patients.survivorOf(id);
  if (!survivor) return;
  res.setHeader('Location', `${ctx.base}/Patient/${survivor}`);
  throw new HubError('API_PATIENT_GONE', `Patient/${id} was merged into Patient/${survivor}`, { path: 'id', survivor: `Patient/${survivor}` });
}

function summaryOf(req: Request): { summary?: SummaryMode; elements?: string[] } {
  const s = req.query._summary;
  const e = req.query._elements;
  if (s !== undefined && (typeof s !== 'string' || !(SUMMARY_MODES as readonly string[]).includes(s) || s === 'count')) {
    throw new HubError('API_PARAMETER_INVALID', '_summary must be true, false, text or data on a read', { path: '_summary' });
  }
  return {
    ...(typeof s === 'string' ? { summary: s as SummaryMode } : {}),
    ...(typeof e === 'string' ? { elements: e.split(',').map((x) => x.trim()).filter(Boolean) } : {}),
  };
}

/** If-None-Match: the client's copy is current, answer 304 without a body. */
function notModified(req: Request, r: StoredResource): boolean {
  const header = req.get('if-none-match');
  if (!header) return false;
  const wanted = header.split(',').map((t) => t.trim().replace(/^W\//, ''));
  return wanted.includes('*') || wanted.includes(`"${r.meta?.versionId ?? '1'}"`);
}

function sendVersioned(req: Request, res: Response, r: StoredResource): void {
  res.setHeader('ETag', versionEtag(r));
  if (r.meta?.lastUpdated) res.setHeader('Last-Modified', new Date(r.meta.lastUpdated).toUTCString());
  if (notModified(req, r)) {
    res.status(304).end();
    return;
  }
  const { summary, elements } = summaryOf(req);
  sendResource(req, res, viewOf(r, summary, elements));
}

/**
 * One page of a type's or a resource's history. The store is asked for one version more than
 * the page: when it does not come, this is the last page and the total is known without a
 * count query (a second collection scan on FerretDB).
 */
async function sendHistory(ctx: ApiContext, req: Request, res: Response, type: string, id?: string, compartment?: PatientCompartment): Promise<void> {
  if (TYPES_WITHOUT_HISTORY.has(type)) {
    throw new HubError('API_INTERACTION_NOT_SUPPORTED', `${type} keeps no version history (each is written once); read or search it instead`, { path: 'type' });
  }
  const parsed = parseHistory(queryPairs(req.originalUrl), ctx.limits);
  const found = await ctx.store.historyPage(type, {
    ...(id !== undefined ? { id } : {}),
    ...(parsed.since ? { since: parsed.since } : {}),
    offset: parsed.offset,
    count: parsed.count === 0 ? 0 : parsed.count + 1,
    total: parsed.count === 0,
  });
  const more = found.resources.length > parsed.count;
  // under patient/ scopes a version from before the record was re-assigned to this person stays hidden
  const versions = found.resources.slice(0, parsed.count).filter((v) => !compartment || compartment.contains(v));
  // an empty page past the end says nothing about how many versions there are
  const endReached = !more && (versions.length > 0 || parsed.offset === 0);
  const total = found.total ?? (endReached ? parsed.offset + versions.length : undefined);
  if (id !== undefined && versions.length === 0 && !(await ctx.store.read(type, id))) {
    throw new HubError('API_RESOURCE_NOT_FOUND', `${type}/${id} is not known`, { path: 'id' });
  }
  res.locals.auditResources = versions;
  sendResource(req, res, historyBundle({
    base: ctx.base,
    page: { url: `${ctx.base}/${type}${id !== undefined ? `/${id}` : ''}/_history`, pairs: parsed.pairs, offset: parsed.offset, count: parsed.count },
    versions,
    ...(total !== undefined ? { total } : {}),
  }));
}

export function readRoutes(ctx: ApiContext): express.Router {
  const router = express.Router();

  // before /:type/:id, which would take `_history` for an id
  router.get('/:type/_history', wrap(async (req, res) => {
    const { type } = req.params as { type: string };
    checkTypeAndId(type);
    if (!SEARCH_PARAMETERS[type]) throw new HubError('API_TYPE_NOT_FOUND', `${type} is not served by this API`, { path: 'type' });
    await sendHistory(ctx, req, res, type);
  }));

  router.get('/:type/:id', wrap(async (req, res) => {
    const { type, id } = req.params as { type: string; id: string };
    checkTypeAndId(type, id);
    const notFound = new HubError('API_RESOURCE_NOT_FOUND', `${type}/${id} is not known`, { path: 'id' });
    // outside the patient/ scope's compartment answers exactly as absent: a 403 would confirm another person's ids
    const compartment = await narrowedCompartment(ctx, res);
    if (compartment && !compartment.mayHold(type, id)) throw notFound;
    // side by side: with a patient index the merge check is a database read of its own
    const [, resource] = await Promise.all([refuseMergedPatient(ctx, res, type, id), ctx.store.read(type, id)]);
    if (!resource || (compartment && !compartment.contains(resource))) throw notFound;
    res.locals.auditResources = [resource];
    sendVersioned(req, res, resource);
  }));

  router.get('/:type/:id/_history/:vid', wrap(async (req, res) => {
    const { type, id, vid } = req.params as { type: string; id: string; vid: string };
    checkTypeAndId(type, id);
    if (!/^\d{1,12}$/.test(vid)) throw new HubError('API_VERSION_INVALID', `"${vid}" is not a version id`, { path: 'vid' });
    const notFound = new HubError('API_VERSION_NOT_FOUND', `${type}/${id} has no version ${vid}`, { path: 'vid' });
    // as for read: outside the compartment is indistinguishable from absent
    const compartment = await narrowedCompartment(ctx, res);
    if (compartment && !compartment.mayHold(type, id)) throw notFound;
    await refuseMergedPatient(ctx, res, type, id);
    const resource = await ctx.store.readVersion(type, id, vid);
    if (!resource || (compartment && !compartment.contains(resource))) throw notFound;
    res.locals.auditResources = [resource];
    sendVersioned(req, res, resource);
  }));

  router.get('/:type/:id/_history', wrap(async (req, res) => {
    const { type, id } = req.params as { type: string; id: string };
    checkTypeAndId(type, id);
    const compartment = await narrowedCompartment(ctx, res);
    if (compartment) {
      // the record as it is now decides; answered as absent when it is another person's
      const current = compartment.mayHold(type, id) ? await ctx.store.read(type, id) : undefined;
      if (!current || !compartment.contains(current)) throw new HubError('API_RESOURCE_NOT_FOUND', `${type}/${id} is not known`, { path: 'id' });
    }
    await refuseMergedPatient(ctx, res, type, id);
    await sendHistory(ctx, req, res, type, id, compartment);
  }));

  return router;
}

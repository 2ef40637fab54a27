import express, { type NextFunction, type Request, type Response } from 'express';
import type { Bundle } from 'fhir/r4.js';
import { HubError } from '../hub/core/hubError.ts';
import type { StoredResource } from '../hub/store/resourceStore.ts';
import type { ApiContext } from './apiContext.ts';
import { sendResource } from './fhirResponse.ts';
import { viewOf } from './resourceView.ts';
import { SUMMARY_MODES, type SummaryMode } from './searchRequest.ts';

/** read, vread and instance history, with ETag / If-None-Match and 410 for merged-away Patients. */
export const RESOURCE_TYPE = /^[A-Z][A-Za-z]{1,63}$/;
export const RESOURCE_ID = /^[A-Za-z0-9\-.]{1,64}$/;

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

function etagOf(r: StoredResource): string {
  return `W/"${r.meta?.versionId ?? '1'}"`;
}

/** If-None-Match: the client's copy is current, answer 304 without a body. */
function notModified(req: Request, r: StoredResource): boolean {
  const header = req.get('if-none-match');
  if (!header) return false;
  const wanted = header.split(',').map((t) => t.trim().replace(/^W\//, ''));
  return wanted.includes('*') || wanted.includes(`"${r.meta?.versionId ?? '1'}"`);
}

function sendVersioned(req: Request, res: Response, r: StoredResource): void {
  res.setHeader('ETag', etagOf(r));
  if (r.meta?.lastUpdated) res.setHeader('Last-Modified', new Date(r.meta.lastUpdated).toUTCString());
  if (notModified(req, r)) {
    res.status(304).end();
    return;
  }
  const { summary, elements } = summaryOf(req);
  sendResource(req, res, viewOf(r, summary, elements));
}

export function readRoutes(ctx: ApiContext): express.Router {
  const router = express.Router();

  router.get('/:type/:id', wrap(async (req, res) => {
    const { type, id } = req.params as { type: string; id: string };
    checkTypeAndId(type, id);
    // side by side: with a patient index the merge check is a database read of its own
    const [, resource] = await Promise.all([refuseMergedPatient(ctx, res, type, id), ctx.store.read(type, id)]);
    if (!resource) throw new HubError('API_RESOURCE_NOT_FOUND', `${type}/${id} is not known`, { path: 'id' });
    res.locals.auditResources = [resource];
    sendVersioned(req, res, resource);
  }));

  router.get('/:type/:id/_history/:vid', wrap(async (req, res) => {
    const { type, id, vid } = req.params as { type: string; id: string; vid: string };
    checkTypeAndId(type, id);
    if (!/^\d{1,12}$/.test(vid)) throw new HubError('API_VERSION_INVALID', `"${vid}" is not a version id`, { path: 'vid' });
    await refuseMergedPatient(ctx, res, type, id);
    const resource = await ctx.store.readVersion(type, id, vid);
    if (!resource) throw new HubError('API_VERSION_NOT_FOUND', `${type}/${id} has no version ${vid}`, { path: 'vid' });
    res.locals.auditResources = [resource];
    sendVersioned(req, res, resource);
  }));

  router.get('/:type/:id/_history', wrap(async (req, res) => {
    const { type, id } = req.params as { type: string; id: string };
    checkTypeAndId(type, id);
    await refuseMergedPatient(ctx, res, type, id);
    const versions = await ctx.store.history(type, id);
    if (versions.length === 0) throw new HubError('API_RESOURCE_NOT_FOUND', `${type}/${id} is not known`, { path: 'id' });
    res.locals.auditResources = versions.slice(0, 1);
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'history',
      total: versions.length,
      link: [{ relation: 'self', url: `${ctx.base}/${type}/${id}/_history` }],
      entry: versions.map((r) => ({
        fullUrl: `${ctx.base}/${type}/${id}`,
        resource: r,
        request: { method: r.meta?.versionId === '1' ? 'POST' : 'PUT', url: r.meta?.versionId === '1' ? type : `${type}/${id}` },
        response: { status: r.meta?.versionId === '1' ? '201 Created' : '200 OK', etag: etagOf(r), ...(r.meta?.lastUpdated ? { lastModified: r.meta.lastUpdated } : {}) },
      })),
    };
    sendResource(req, res, bundle);
  }));

  return router;
}

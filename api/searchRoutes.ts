import express, { type NextFunction, type Request, type Response } from 'express';
import { HubError } from '../hub/core/hubError.ts';
import { SEARCH_PARAMETERS } from '../hub/store/searchParameterTable.ts';
import type { ApiContext } from './apiContext.ts';
import { requireRead } from './authorization.ts';
import { sendResource } from './fhirResponse.ts';
import { narrowedCompartment, narrowSearch, visibleIncluded } from './patientCompartmentAccess.ts';
import { checkTypeAndId } from './readRoutes.ts';
import { searchsetBundle } from './searchBundle.ts';
import { executeSearch } from './searchExecutor.ts';
import { parseSearch, queryPairs, type QueryPairs } from './searchRequest.ts';

/** Type-level search: `GET /{type}?...` and `POST /{type}/_search` with a form body. */
async function search(ctx: ApiContext, req: Request, res: Response, type: string, pairs: QueryPairs): Promise<void> {
  checkTypeAndId(type);
  if (!SEARCH_PARAMETERS[type]) throw new HubError('API_TYPE_NOT_FOUND', `${type} is not served by this API`, { path: 'type' });
  const parsed = parseSearch(type, pairs, ctx.limits);
  const compartment = await narrowedCompartment(ctx, res);
  if (compartment) narrowSearch(parsed, compartment);
  // a chain or _has reveals facts about its type: the caller must be allowed to read it
  requireRead(res, [...parsed.chains.map((c) => c.targetType), ...parsed.has.map((h) => h.type)]);
  const outcome = await executeSearch(ctx, parsed);
  outcome.included = await visibleIncluded(ctx, res, outcome.included);
  res.locals.auditResources = outcome.matches.concat(outcome.included);
  res.locals.auditQuery = `${type}?${new URLSearchParams(pairs).toString()}`;
  sendResource(req, res, searchsetBundle({
    base: ctx.base,
    page: { url: `${ctx.base}/${type}`, pairs, offset: parsed.offset, count: parsed.count },
    matches: outcome.matches,
    included: outcome.included,
    ...(outcome.total !== undefined ? { total: outcome.total } : {}),
    ...(parsed.summary ? { summary: parsed.summary } : {}),
    ...(parsed.elements ? { elements: parsed.elements } : {}),
  }));
}

export function searchRoutes(ctx: ApiContext): express.Router {
  const router = express.Router();
  router.get('/:type', (req: Request, res: Response, next: NextFunction) => {
    search(ctx, req, res, req.params.type as string, queryPairs(req.originalUrl)).catch(next);
  });
  router.post('/:type/_search', express.urlencoded({ extended: false, limit: ctx.limits.maxBodyBytes }), (req: Request, res: Response, next: NextFunction) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const fromBody: QueryPairs = Object.entries(body).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => [k, String(x)] as [string, string]));
    search(ctx, req, res, req.params.type as string, [...queryPairs(req.originalUrl), ...fromBody]).catch(next);
  });
  return router;
}

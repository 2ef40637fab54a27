import express, { type NextFunction, type Request, type Response } from 'express';
import type { Bundle, CapabilityStatement } from 'fhir/r4.js';
import { HubError } from '../hub/core/hubError.ts';
import type { Logger } from '../hub/core/logger.ts';
import type { ResourceStore, StoredResource } from '../hub/store/resourceStore.ts';
import { FHIR_JSON, sendError } from './httpOutcome.ts';
import { searchQueryFor } from './searchParameters.ts';

export interface FhirAppDeps {
  store: ResourceStore;
  log: Logger;
  /** public base URL of the FHIR endpoint, for Bundle links */
  baseUrl: string;
  /** routers mounted under /fhir before the generic read/search routes (operations such as $merge) */
  extraRouters?: express.Router[];
}

const TYPE = /^[A-Z][A-Za-z]+$/;
const ID = /^[A-Za-z0-9\-.]{1,64}$/;

function sendResource(res: Response, resource: object, status = 200): void {
  res.status(status).type(FHIR_JSON).send(JSON.stringify(resource));
}

export function createFhirApp(deps: FhirAppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'extended');
  const fhir = express.Router();

  fhir.get('/metadata', (_req, res) => sendResource(res, capabilityStatement()));
  for (const router of deps.extraRouters ?? []) fhir.use(router);

  fhir.get('/:type/:id', async (req: Request, res: Response, next: NextFunction) => {
    try {
      const { type, id } = req.params as { type: string; id: string };
      if (!TYPE.test(type)) throw new HubError('API_TYPE_INVALID', `"${type}" is not a resource type`, { path: 'type', httpStatus: 404 });
      if (!ID.test(id)) throw new HubError('API_ID_INVALID', `"${id}" is not a valid id`, { path: 'id' });
      const resource = await deps.store.read(type, id);
      if (!resource) throw new HubError('API_RESOURCE_NOT_FOUND', `${type}/${id} is not known`);
      res.setHeader('ETag', `W/"${resource.meta?.versionId ?? '1'}"`);
      if (resource.meta?.lastUpdated) res.setHeader('Last-Modified', new Date(resource.meta.lastUpdated).toUTCString());
      sendResource(res, resource);
    } catch (err) {
      next(err);
    }
  });

  fhir.get('/:type', async (req: Request, res: Response, next: NextFunction) => {
    try {
      const { type } = req.params as { type: string };
      if (!TYPE.test(type)) throw new HubError('API_TYPE_INVALID', `"${type}" is not a resource type`, { httpStatus: 404 });
      const query = searchQueryFor(type, req.query as Record<string, unknown>);
      const result = await deps.store.search(type, query);
      sendResource(res, searchBundle(deps.baseUrl, type, req.originalUrl, result.resources, result.total));
    } catch (err) {
      next(err);
    }
  });

  app.use('/fhir', fhir);
  app.get('/healthz', (_req, res) => res.json({ status: 'up' }));
  app.use((req: Request, res: Response) => sendError(res, new HubError('API_ROUTE_NOT_FOUND', `no route for ${req.method} ${req.path}`)));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => sendError(res, err, deps.log));
  return app;
}

function searchBundle(baseUrl: string, type: string, originalUrl: string, resources: StoredResource[], total?: number): Bundle {
  const query = originalUrl.includes('?') ? originalUrl.slice(originalUrl.indexOf('?')) : '';
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    ...(total !== undefined ? { total } : {}),
    link: [{ relation: 'self', url: `${baseUrl}/${type}${query}` }],
    entry: resources.map((r) => ({ fullUrl: `${baseUrl}/${r.resourceType}/${r.id}`, resource: r, search: { mode: 'match' } })),
  };
}

function capabilityStatement(): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString().slice(0, 10),
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['application/fhir+json'],
    rest: [{
      mode: 'server',
      resource: [
        { type: 'Patient', interaction: [{ code: 'read' }, { code: 'search-type' }], searchParam: [{ name: '_id', type: 'token' }, { name: 'identifier', type: 'token' }] },
        { type: 'Encounter', interaction: [{ code: 'read' }, { code: 'search-type' }], searchParam: [{ name: 'patient', type: 'reference' }, { name: 'subject', type: 'reference' }] },
      ],
    }],
  };
}

import express, { type NextFunction, type Request, type Response } from 'express';
import { HubError } from '../hub/core/hubError.ts';
import type { Logger } from '../hub/core/logger.ts';
import type { PatientIndexReader } from '../hub/mpi/patientIndexReader.ts';
import type { ExportJobStore } from '../hub/store/exportJobs.ts';
import type { ResourceStore } from '../hub/store/resourceStore.ts';
import type { ApiContext } from './apiContext.ts';
import { DEFAULT_API_LIMITS, type ApiLimits } from './apiLimits.ts';
import { bulkExportRoutes } from './bulkExportRoutes.ts';
import { capabilityStatement, type CapabilityOptions } from './capabilityStatement.ts';
import { everythingRoute } from './everythingRoute.ts';
import { negotiateFormat, sendResource } from './fhirResponse.ts';
import { FHIR_JSON, sendError } from './httpOutcome.ts';
import { readRoutes } from './readRoutes.ts';
import { searchRoutes } from './searchRoutes.ts';
import { SelfGoldenPatientIndex } from './selfGoldenPatientIndex.ts';

export interface FhirAppDeps {
  store: ResourceStore;
  log: Logger;
  /** public base URL of the FHIR endpoint, for Bundle links */
  baseUrl: string;
  /** routers mounted under /fhir before the generic read/search routes (operations such as $merge); auth and audit apply to them */
  extraRouters?: express.Router[];
  /** operations the extra routers serve, for the CapabilityStatement */
  extraOperations?: CapabilityOptions['operations'];
  /** the master patient index; without one every Patient is its own golden record */
  patients?: PatientIndexReader;
  limits?: Partial<ApiLimits>;
  /** middleware run before anything but /metadata, the body parser included (bearerAuthentication); none = open API */
  authenticate?: express.RequestHandler;
  /** middleware run first for every request, so refusals of any kind are recorded (auditRequests) */
  audit?: express.RequestHandler;
  /** where bulk export jobs are kept; without it there is no $export */
  exportJobs?: ExportJobStore;
}

/** Body-parser failures as hub errors, so they reach the client as OperationOutcome. */
function asHubError(err: unknown): unknown {
  const e = err as { type?: string; status?: number } | undefined;
  if (e?.type === 'entity.too.large') return new HubError('API_BODY_TOO_LARGE', 'request body is larger than the server accepts', { path: 'body', httpStatus: 413 });
  if (e?.type === 'entity.parse.failed') return new HubError('API_BODY_INVALID', 'request body is not valid JSON', { path: 'body', httpStatus: 400 });
  if (e?.type && typeof e.status === 'number' && e.status < 500) return new HubError('API_BODY_INVALID', `request body refused (${e.type})`, { path: 'body', httpStatus: e.status });
  return err;
}

export function createFhirApp(deps: FhirAppDeps): express.Express {
  const limits: ApiLimits = { ...DEFAULT_API_LIMITS, ...deps.limits };
  const ctx: ApiContext = {
    store: deps.store, log: deps.log, base: deps.baseUrl.replace(/\/$/, ''), limits, patients: deps.patients ?? new SelfGoldenPatientIndex(),
  };
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag'); // versions are the ETags, set per resource
  app.set('query parser', 'extended');
  // audit first, so every answered request is recorded, refused ones included
  if (deps.audit) app.use(deps.audit);
  const fhir = express.Router();

  fhir.get('/metadata', negotiateFormat, (req, res) => sendResource(req, res, capabilityStatement({
    base: ctx.base, limits, authRequired: deps.authenticate !== undefined,
    ...(deps.extraOperations ? { operations: deps.extraOperations } : {}),
    bulkExport: deps.exportJobs !== undefined,
  })));
  // authenticate before reading the body: an anonymous caller is refused without the server
  // taking in (up to maxBodyBytes of) what it sent
  if (deps.authenticate) fhir.use(deps.authenticate);
  fhir.use(negotiateFormat);
  fhir.use(express.json({ limit: limits.maxBodyBytes, type: ['application/json', 'application/fhir+json'] }));
  for (const router of deps.extraRouters ?? []) fhir.use(router);
  if (deps.exportJobs) fhir.use(bulkExportRoutes({ store: ctx.store, jobs: deps.exportJobs, base: ctx.base }));
  fhir.use(everythingRoute(ctx));
  fhir.use(searchRoutes(ctx));
  fhir.use(readRoutes(ctx));

  app.use('/fhir', fhir);
  app.get('/healthz', (_req, res) => res.json({ status: 'up' }));
  app.use((req: Request, res: Response) => sendError(res, new HubError('API_ROUTE_NOT_FOUND', `no route for ${req.method} ${req.path}`)));
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return;
    // a body left unread (a refused upload) would otherwise be read to its end to keep the connection
    if (!req.complete) res.setHeader('Connection', 'close');
    sendError(res, asHubError(err), deps.log);
  });
  return app;
}

export { FHIR_JSON };

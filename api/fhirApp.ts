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
  /** middleware run before anything but /metadata (bearerAuthentication); none = open API */
  authenticate?: express.RequestHandler;
  /** middleware run for every request but /metadata, before authentication (auditRequests) */
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
  const fhir = express.Router();

  fhir.use(negotiateFormat);
  fhir.use(express.json({ limit: limits.maxBodyBytes, type: ['application/json', 'application/fhir+json'] }));
  fhir.get('/metadata', (req, res) => sendResource(req, res, capabilityStatement({
    base: ctx.base, limits, authRequired: deps.authenticate !== undefined,
    ...(deps.extraOperations ? { operations: deps.extraOperations } : {}),
    bulkExport: deps.exportJobs !== undefined,
  })));
  // audit first, so refused requests are recorded too
  if (deps.audit) fhir.use(deps.audit);
  if (deps.authenticate) fhir.use(deps.authenticate);
  for (const router of deps.extraRouters ?? []) fhir.use(router);
  if (deps.exportJobs) fhir.use(bulkExportRoutes({ store: ctx.store, jobs: deps.exportJobs, base: ctx.base }));
  fhir.use(everythingRoute(ctx));
  fhir.use(searchRoutes(ctx));
  fhir.use(readRoutes(ctx));

  app.use('/fhir', fhir);
  app.get('/healthz', (_req, res) => res.json({ status: 'up' }));
  app.use((req: Request, res: Response) => sendError(res, new HubError('API_ROUTE_NOT_FOUND', `no route for ${req.method} ${req.path}`)));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return;
    sendError(res, asHubError(err), deps.log);
  });
  return app;
}

export { FHIR_JSON };

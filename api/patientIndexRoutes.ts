import express, { type NextFunction, type Request, type Response } from 'express';
import type { Bundle, OperationOutcome, Parameters, ParametersParameter, Patient } from 'fhir/r4.js';
import { HubError } from '../hub/core/hubError.ts';
import { operationOutcome } from '../hub/core/operationOutcome.ts';
import type { ReviewItem, ReviewStatus } from '../hub/mpi/mpiRecords.ts';
import { matchPatient } from '../hub/mpi/patientMatch.ts';
import { mergeGoldens, unmerge } from '../hub/mpi/patientMerges.ts';
import type { PatientIndex } from '../hub/mpi/patientIndex.ts';
import { acceptReview, listReview, rejectReview } from '../hub/mpi/reviewQueue.ts';
import { FHIR_JSON } from './httpOutcome.ts';

/**
 * FHIR operations of the master patient index, mounted through createFhirApp's extraRouters:
 * Patient/$match (IHE PDQm), Patient/$merge and Patient/$unmerge (Parameters in and out), and the
 * review queue (Patient/$mpi-review, $mpi-review-accept, $mpi-review-reject).
 */
export const PATIENT_INDEX_OPERATIONS = [
  { type: 'Patient', name: 'match', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-match' },
  { type: 'Patient', name: 'merge', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-merge' },
  { type: 'Patient', name: 'unmerge', definition: 'urn:hub:OperationDefinition/Patient-unmerge' },
  { type: 'Patient', name: 'mpi-review', definition: 'urn:hub:OperationDefinition/Patient-mpi-review' },
  { type: 'Patient', name: 'mpi-review-accept', definition: 'urn:hub:OperationDefinition/Patient-mpi-review-accept' },
  { type: 'Patient', name: 'mpi-review-reject', definition: 'urn:hub:OperationDefinition/Patient-mpi-review-reject' },
];

const MATCH_GRADE_URL = 'http://hl7.org/fhir/StructureDefinition/match-grade';

function send(res: Response, status: number, body: object): void {
  res.status(status).type(FHIR_JSON).send(JSON.stringify(body));
}

function parametersOf(req: Request): ParametersParameter[] {
  const body = req.body as Parameters | undefined;
  if (!body || body.resourceType !== 'Parameters') throw new HubError('API_BODY_INVALID', 'the operation takes a Parameters resource', { path: 'body', httpStatus: 400 });
  return body.parameter ?? [];
}

function param(params: ParametersParameter[], name: string): ParametersParameter | undefined {
  return params.find((p) => p.name === name);
}

function referenceParam(params: ParametersParameter[], name: string): string {
  const p = param(params, name);
  const ref = p?.valueReference?.reference ?? p?.valueString;
  if (!ref) throw new HubError('API_PARAMETER_MISSING', `parameter ${name} (a Patient reference) is required`, { path: name, httpStatus: 400 });
  if (!/^(Patient\/)?[A-Za-z0-9\-.]{1,64}$/.test(ref)) throw new HubError('API_PARAMETER_INVALID', `${name} must reference a Patient`, { path: name, httpStatus: 400 });
  return ref.replace(/^Patient\//, '');
}

/** Who acts: the authenticated subject when the API has one, else a stated user, else "api". */
function actor(req: Request, res: Response): string {
  const principal = res.locals.principal as { sub?: string; subject?: string } | undefined;
  return principal?.sub ?? principal?.subject ?? req.header('x-hub-user') ?? 'api';
}

function ok(diagnostics: string): OperationOutcome {
  return operationOutcome({ severity: 'information', code: 'informational', diagnostics });
}

function reviewParameters(item: ReviewItem): ParametersParameter {
  return {
    name: 'item',
    part: [
      { name: 'id', valueString: item._id },
      { name: 'status', valueCode: item.status },
      { name: 'source', valueReference: { reference: `Patient/${item.source}` } },
      { name: 'golden', valueReference: { reference: `Patient/${item.golden}` } },
      { name: 'score', valueDecimal: item.score },
      { name: 'autoMergeThreshold', valueDecimal: item.thresholds.autoMerge },
      { name: 'reviewThreshold', valueDecimal: item.thresholds.review },
      ...item.fields.map((f): ParametersParameter => ({
        name: 'field',
        part: [
          { name: 'name', valueString: f.field },
          { name: 'comparator', valueCode: f.comparator },
          { name: 'level', valueCode: f.level ?? 'missing' },
          { name: 'weight', valueDecimal: f.weight },
          ...(f.m !== undefined ? [{ name: 'm', valueDecimal: f.m }, { name: 'u', valueDecimal: f.u! }] : []),
        ],
      })),
    ],
  };
}

export function patientIndexRoutes(index: PatientIndex, baseUrl: string): express.Router {
  const router = express.Router();
  const base = baseUrl.replace(/\/$/, '');
  const route = (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction) => { fn(req, res).catch(next); };

  router.post('/Patient/\\$match', route(async (req, res) => {
    const params = parametersOf(req);
    const input = param(params, 'resource')?.resource as Patient | undefined;
    if (input?.resourceType !== 'Patient') throw new HubError('API_PARAMETER_MISSING', 'parameter resource (a Patient) is required', { path: 'resource', httpStatus: 400 });
    const count = param(params, 'count')?.valueInteger;
    const candidates = await matchPatient(index, input, { onlyCertain: param(params, 'onlyCertainMatches')?.valueBoolean === true, ...(count ? { count } : {}) });
    const entry: NonNullable<Bundle['entry']> = [];
    for (const c of candidates) {
      const golden = await index.store.read('Patient', c.golden);
      if (!golden) continue;
      entry.push({
        fullUrl: `${base}/Patient/${c.golden}`, resource: golden,
        search: { mode: 'match', score: c.probability, extension: [{ url: MATCH_GRADE_URL, valueCode: c.grade }] },
      });
    }
    send(res, 200, { resourceType: 'Bundle', type: 'searchset', total: entry.length, entry } satisfies Bundle);
  }));

  router.post('/Patient/\\$merge', route(async (req, res) => {
    const params = parametersOf(req);
    const from = referenceParam(params, 'source-patient');
    const into = referenceParam(params, 'target-patient');
    const reason = param(params, 'reason')?.valueString ?? 'manual merge';
    const r = await mergeGoldens(index, from, into, actor(req, res), reason);
    const result = await index.store.read('Patient', r.into);
    send(res, 200, {
      resourceType: 'Parameters',
      parameter: [
        { name: 'input', resource: req.body as Parameters },
        { name: 'outcome', resource: ok(`merged golden Patient/${r.from} into Patient/${r.into} (${r.moved.length} source record(s) moved)`) },
        { name: 'result', resource: result! },
        { name: 'merge-id', valueString: r.mergeId },
      ],
    } satisfies Parameters);
  }));

  router.post('/Patient/\\$unmerge', route(async (req, res) => {
    const params = parametersOf(req);
    const mergeId = param(params, 'merge-id')?.valueString;
    const ref = mergeId ?? referenceParam(params, 'source-patient');
    const reason = param(params, 'reason')?.valueString ?? 'manual unmerge';
    const r = await unmerge(index, ref, actor(req, res), reason);
    const restored = await index.store.read('Patient', r.from);
    send(res, 200, {
      resourceType: 'Parameters',
      parameter: [
        { name: 'outcome', resource: ok(`merge ${r.mergeId} undone: Patient/${r.from} restored; ${r.rematched.length} later record(s) matched again`) },
        { name: 'result', resource: restored! },
        { name: 'merge-id', valueString: r.mergeId },
        ...r.restored.map((id) => ({ name: 'restored', valueReference: { reference: `Patient/${id}` } })),
        ...r.rematched.map((id) => ({ name: 'rematched', valueReference: { reference: `Patient/${id}` } })),
      ],
    } satisfies Parameters);
  }));

  router.get('/Patient/\\$mpi-review', route(async (req, res) => {
    const q = req.query as Record<string, string | undefined>;
    const num = (v: string | undefined, name: string) => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new HubError('API_PARAMETER_INVALID', `${name} must be a non-negative number`, { path: name, httpStatus: 400 });
      return n;
    };
    const status = (q.status ?? 'OPEN').toUpperCase() as ReviewStatus;
    if (!['OPEN', 'ACCEPTED', 'REJECTED', 'RESOLVED'].includes(status)) throw new HubError('API_PARAMETER_INVALID', 'status must be open, accepted, rejected or resolved', { path: 'status', httpStatus: 400 });
    const count = Math.min(num(q._count, '_count') ?? 20, 200);
    const offset = num(q._offset, '_offset') ?? 0;
    const minScore = num(q.minScore, 'minScore');
    const { items, total } = await listReview(index, {
      status, count, offset, ...(minScore !== undefined ? { minScore } : {}),
      ...(q.golden ? { golden: q.golden.replace(/^Patient\//, '') } : {}), ...(q.source ? { source: q.source.replace(/^Patient\//, '') } : {}),
    });
    send(res, 200, {
      resourceType: 'Parameters',
      parameter: [{ name: 'total', valueInteger: total }, { name: 'offset', valueInteger: offset }, ...items.map(reviewParameters)],
    } satisfies Parameters);
  }));

  router.post('/Patient/\\$mpi-review-accept', route(async (req, res) => {
    const params = parametersOf(req);
    const id = param(params, 'id')?.valueString;
    if (!id) throw new HubError('API_PARAMETER_MISSING', 'parameter id (the review item) is required', { path: 'id', httpStatus: 400 });
    const r = await acceptReview(index, id, actor(req, res), param(params, 'reason')?.valueString);
    send(res, 200, { resourceType: 'Parameters', parameter: [
      { name: 'outcome', resource: ok(r ? `accepted: merged Patient/${r.from} into Patient/${r.into}` : 'accepted: already one golden Patient') },
      ...(r ? [{ name: 'merge-id', valueString: r.mergeId }, { name: 'result', valueReference: { reference: `Patient/${r.into}` } }] : []),
    ] } satisfies Parameters);
  }));

  router.post('/Patient/\\$mpi-review-reject', route(async (req, res) => {
    const params = parametersOf(req);
    const id = param(params, 'id')?.valueString;
    if (!id) throw new HubError('API_PARAMETER_MISSING', 'parameter id (the review item) is required', { path: 'id', httpStatus: 400 });
    await rejectReview(index, id, actor(req, res), param(params, 'reason')?.valueString ?? '');
    send(res, 200, { resourceType: 'Parameters', parameter: [{ name: 'outcome', resource: ok('rejected: recorded as NO_MATCH') }] } satisfies Parameters);
  }));

  return router;
}

import type { Response } from 'express';
import type { OperationOutcome } from 'fhir/r4.js';
import { HubError } from '../hub/core/hubError.ts';
import { issueTypeForCode, operationOutcome, outcomeFromError, type IssueType } from '../hub/core/operationOutcome.ts';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** The one place an issue type becomes an HTTP status. */
export function httpStatusFor(type: IssueType): number {
  switch (type) {
    case 'not-found': return 404;
    case 'deleted': return 410;
    case 'conflict': return 409;
    case 'login': case 'security': return 401;
    case 'forbidden': return 403;
    case 'too-costly': case 'throttled': return 429;
    case 'not-supported': return 400;
    case 'invalid': case 'structure': case 'required': case 'value': case 'invariant': return 400;
    case 'business-rule': case 'processing': return 422;
    default: return 500;
  }
}

export function sendOutcome(res: Response, status: number, outcome: OperationOutcome): void {
  res.status(status).type(FHIR_JSON).send(JSON.stringify(outcome));
}

/** Any error as an OperationOutcome; unexpected ones as 500 without internals. */
export function sendError(res: Response, err: unknown, log?: { error: (o: object, m: string) => void }): void {
  if (err instanceof HubError) {
    const status = typeof err.detail.httpStatus === 'number' ? err.detail.httpStatus : httpStatusFor(issueTypeForCode(err.code));
    sendOutcome(res, status, outcomeFromError(err));
    return;
  }
  log?.error({ err: (err as Error)?.message }, 'unexpected API error');
  sendOutcome(res, 500, operationOutcome({ code: 'exception', diagnostics: 'internal error; see the server log', hubCode: 'API_INTERNAL' }));
}

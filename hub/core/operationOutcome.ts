import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4.js';
import { HubError } from './hubError.ts';

export type IssueSeverity = OperationOutcomeIssue['severity'];
export type IssueType = OperationOutcomeIssue['code'];

export interface OutcomeIssue {
  severity?: IssueSeverity;
  code: IssueType;
  diagnostics: string;
  /** FHIRPath expressions locating the problem (e.g. `Patient.birthDate`, a search parameter name) */
  expression?: string[];
  /** the hub's stable error code, carried as details.coding so clients can switch on it */
  hubCode?: string;
}

export const HUB_ERROR_CODE_SYSTEM = 'urn:hub:error-code';

export function operationOutcome(...issues: OutcomeIssue[]): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: issues.map((i) => ({
      severity: i.severity ?? 'error',
      code: i.code,
      diagnostics: i.diagnostics,
      ...(i.expression && i.expression.length > 0 ? { expression: i.expression } : {}),
      ...(i.hubCode ? { details: { coding: [{ system: HUB_ERROR_CODE_SYSTEM, code: i.hubCode }] } } : {}),
    })),
  };
}

/** The issue type a hub error code maps to; the HTTP status follows from the issue type. */
export function issueTypeForCode(code: string): IssueType {
  if (code.endsWith('_NOT_FOUND')) return 'not-found';
  if (code.endsWith('_GONE') || code.endsWith('_DELETED')) return 'deleted';
  if (code.endsWith('_CONFLICT')) return 'conflict';
  if (code.endsWith('_FORBIDDEN')) return 'forbidden';
  if (code.endsWith('_UNAUTHORIZED')) return 'login';
  if (code.endsWith('_TOO_COSTLY')) return 'too-costly';
  if (code.endsWith('_NOT_SUPPORTED')) return 'not-supported';
  if (code.startsWith('MAPPING_') || code.startsWith('FHIR_')) return 'invalid';
  if (code.startsWith('API_') || code.startsWith('HL7_') || code.startsWith('CONFIG_')) return 'invalid';
  return 'exception';
}

export function outcomeFromError(error: HubError): OperationOutcome {
  const path = error.detail.path;
  return operationOutcome({
    code: issueTypeForCode(error.code),
    diagnostics: error.message,
    hubCode: error.code,
    ...(path ? { expression: [path] } : {}),
  });
}

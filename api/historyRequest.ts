import { HubError } from '../hub/core/hubError.ts';
import type { ApiLimits } from './apiLimits.ts';
import type { QueryPairs } from './searchRequest.ts';
import { integerParameter, parameterError } from './parameterValue.ts';

/**
 * The parameters of a type- or instance-level `_history` request (FHIR R4 http.html#history).
 * Pure; every refusal names the parameter, as the search parser does.
 */
export interface ParsedHistory {
  since?: Date;
  count: number;
  offset: number;
  /** the parameters as received, for paging links */
  pairs: QueryPairs;
}

/** `_format` and `_pretty` shape the response and are handled by the response writer. */
const RESPONSE_PARAMS = new Set(['_format', '_pretty']);

/** FHIR `instant`: seconds and a zone are required, so the moment is not open to interpretation. */
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

const bad = parameterError;


function instant(name: string, value: string): Date {
  const at = INSTANT.test(value) ? new Date(value) : undefined;
  if (!at || Number.isNaN(at.getTime())) throw bad(name, `${name}: "${value}" is not a FHIR instant (e.g. 2026-01-31T08:00:00Z or 2026-01-31T16:00:00.000+08:00)`);
  return at;
}

export function parseHistory(pairs: QueryPairs, limits: ApiLimits): ParsedHistory {
  if (pairs.length > limits.maxParameters) throw new HubError('API_QUERY_TOO_COSTLY', `at most ${limits.maxParameters} parameters per request`, { path: 'query', httpStatus: 400 });
  const parsed: ParsedHistory = { count: limits.defaultCount, offset: 0, pairs };
  for (const [name, value] of pairs) {
    switch (name) {
      case '_count': parsed.count = integerParameter(name, value, 0, limits.maxCount); break;
      case '_offset': parsed.offset = integerParameter(name, value, 0, Number.MAX_SAFE_INTEGER); break;
      case '_since': parsed.since = instant(name, value); break;
      // versions current during a period need each next version's time: not kept, so refused rather than guessed
      case '_at': throw new HubError('API_PARAMETER_NOT_SUPPORTED', '_at is not supported on _history; use _since', { path: name });
      default:
        if (!RESPONSE_PARAMS.has(name)) {
          throw new HubError('API_PARAMETER_UNKNOWN', `unknown _history parameter "${name}" (accepted: _count, _offset, _since, _format, _pretty)`, { path: name });
        }
    }
  }
  return parsed;
}

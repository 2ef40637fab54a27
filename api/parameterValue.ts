import { HubError } from '../hub/core/hubError.ts';

/** A refusal of one request parameter, named in the OperationOutcome's expression. */
export function parameterError(name: string, message: string): HubError {
  return new HubError('API_PARAMETER_INVALID', message, { path: name });
}

/** A whole-number parameter such as `_count` or `_offset`, within bounds. */
export function integerParameter(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw parameterError(name, `${name} must be an integer from ${min} to ${max}`);
  return n;
}

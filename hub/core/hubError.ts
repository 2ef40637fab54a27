/**
 * Errors are values: a stable code that leads to the throw site, a message a person can act on,
 * and optional structured detail (the FHIR path, the HL7 location, the config key).
 * Codes are grouped by stage: CONFIG_*, HL7_*, MAPPING_*, STORE_*, BUS_*, API_*, MPI_*.
 */
export interface Hl7Location {
  segment: string;
  /** 1-based segment occurrence in the message */
  sequence?: number;
  /** 1-based field number (MSH-1 is the field separator) */
  field?: number;
  component?: number;
}

export interface HubErrorDetail {
  /** FHIRPath-like location in a resource or config (e.g. `Patient.birthDate`, `api.port`) */
  path?: string;
  hl7?: Hl7Location;
  [key: string]: unknown;
}

export class HubError extends Error {
  readonly code: string;
  readonly detail: HubErrorDetail;

  constructor(code: string, message: string, detail: HubErrorDetail = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HubError';
    this.code = code;
    this.detail = detail;
  }

  toJSON(): { code: string; message: string; detail: HubErrorDetail } {
    return { code: this.code, message: this.message, detail: this.detail };
  }
}

export function isHubError(value: unknown): value is HubError {
  return value instanceof HubError;
}

/** Wraps anything thrown into a HubError so callers can always report a code. */
export function toHubError(value: unknown, fallbackCode = 'INTERNAL'): HubError {
  if (value instanceof HubError) return value;
  if (value instanceof Error) return new HubError(fallbackCode, value.message, {}, { cause: value });
  return new HubError(fallbackCode, String(value));
}

export type Result<T, E = HubError> = { ok: true; value: T } | { ok: false; error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const fail = <E>(error: E): Result<never, E> => ({ ok: false, error });

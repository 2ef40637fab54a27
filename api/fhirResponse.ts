import type { NextFunction, Request, Response } from 'express';
import { HubError } from '../hub/core/hubError.ts';
import { FHIR_JSON } from './httpOutcome.ts';

/**
 * Content negotiation: JSON only. `_format` (json, application/json, application/fhir+json)
 * wins over Accept; a request that can only take XML or anything else gets 406.
 */
const JSON_FORMATS = new Set(['json', 'application/json', 'application/fhir+json', 'application/json+fhir']);

function formatParam(req: Request): string | undefined {
  const v = req.query._format;
  return typeof v === 'string' ? v.split(';')[0]!.trim() : undefined;
}

function acceptsJson(accept: string | undefined): boolean {
  if (!accept) return true;
  return accept.split(',').some((part) => {
    const type = part.split(';')[0]!.trim().toLowerCase();
    return type === '*/*' || type === 'application/*' || JSON_FORMATS.has(type) || type.endsWith('+json');
  });
}

export function negotiateFormat(req: Request, res: Response, next: NextFunction): void {
  const format = formatParam(req);
  if (format !== undefined) {
    if (!JSON_FORMATS.has(format)) return next(new HubError('API_FORMAT_NOT_ACCEPTABLE', `_format ${format} is not supported; this server speaks application/fhir+json`, { path: '_format', httpStatus: 406 }));
    res.locals.contentType = format === 'json' || format === 'application/json' ? 'application/json; charset=utf-8' : FHIR_JSON;
  } else if (!acceptsJson(req.get('accept'))) {
    return next(new HubError('API_FORMAT_NOT_ACCEPTABLE', `cannot answer in ${req.get('accept')}; this server speaks application/fhir+json`, { path: 'Accept', httpStatus: 406 }));
  }
  next();
}

export function sendResource(req: Request, res: Response, resource: object, status = 200): void {
  const pretty = req.query._pretty === 'true';
  const type = typeof res.locals.contentType === 'string' ? res.locals.contentType : FHIR_JSON;
  res.status(status).type(type).send(pretty ? JSON.stringify(resource, null, 2) : JSON.stringify(resource));
}

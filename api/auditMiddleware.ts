import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { AuditEvent, AuditEventEntity } from 'fhir/r4.js';
import type { AuditTrail } from '../hub/store/mongoAuditTrail.ts';
import type { StoredResource } from '../hub/store/resourceStore.ts';
import { searchIndexFor } from '../hub/store/searchIndex.ts';
import { principalOf } from './authorization.ts';

/**
 * One AuditEvent per request under /fhir (but /metadata), written after the response is sent:
 * who (token subject, client, address), what (the Patients whose data was read, the query),
 * which interaction and how it ended. Refused requests are recorded too.
 */
const MAX_PATIENTS_PER_EVENT = 200;

function interactionOf(req: Request): { subtype: string; action: AuditEvent['action'] } {
  const parts = req.path.split('/').filter(Boolean);
  const op = parts.find((p) => p.startsWith('$'));
  if (op) return { subtype: op.slice(1), action: 'E' };
  if (req.method !== 'GET' && req.method !== 'HEAD' && parts[parts.length - 1] !== '_search') return { subtype: req.method === 'POST' ? 'create' : 'update', action: req.method === 'POST' ? 'C' : 'U' };
  if (parts.length <= 1 || parts[parts.length - 1] === '_search') return { subtype: 'search-type', action: 'E' };
  if (parts.includes('_history')) return { subtype: parts.length === 4 ? 'vread' : parts.length === 2 ? 'history-type' : 'history-instance', action: 'R' };
  return { subtype: 'read', action: 'R' };
}

function outcomeOf(status: number): AuditEvent['outcome'] {
  if (status < 400) return '0';
  return status < 500 ? '4' : '8';
}

/** The Patients whose data the resources are. */
export function patientsIn(resources: StoredResource[]): string[] {
  const out = new Set<string>();
  for (const r of resources) {
    if (r.resourceType === 'Patient') out.add(`Patient/${r.id}`);
    else {
      const refs = searchIndexFor(r).patient;
      for (const ref of Array.isArray(refs) ? refs : []) out.add(ref);
    }
    if (out.size >= MAX_PATIENTS_PER_EVENT) break;
  }
  return [...out];
}

export function auditEventFor(req: Request, res: Response): AuditEvent & { id: string } {
  const { subtype, action } = interactionOf(req);
  const principal = principalOf(res);
  const resources = (res.locals.auditResources as StoredResource[] | undefined) ?? [];
  const entities: AuditEventEntity[] = patientsIn(resources).map((ref) => ({
    what: { reference: ref },
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '1', display: 'Person' },
    role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' },
  }));
  const query = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '';
  if (query || subtype === 'search-type') {
    entities.push({
      type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' },
      role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '24', display: 'Query' },
      description: req.path,
      query: Buffer.from(query, 'utf8').toString('base64'),
    });
  }
  return {
    resourceType: 'AuditEvent',
    id: randomUUID(),
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'RESTful Operation' },
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: subtype }],
    action,
    recorded: new Date().toISOString(),
    outcome: outcomeOf(res.statusCode),
    ...(res.statusCode >= 400 ? { outcomeDesc: `HTTP ${res.statusCode}` } : {}),
    agent: [{
      requestor: true,
      who: principal
        ? { identifier: { system: principal.issuer, value: principal.subject }, ...(principal.clientId ? { display: principal.clientId } : {}) }
        : { display: 'anonymous' },
      ...(principal?.tokenId ? { policy: [principal.tokenId] } : {}),
      network: { address: req.ip ?? req.socket.remoteAddress ?? 'unknown', type: '2' },
    }],
    source: {
      observer: { display: 'healthcare-integration-hub FHIR API' },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '3', display: 'Web Server' }],
    },
    ...(entities.length ? { entity: entities } : {}),
  };
}

export function auditRequests(trail: AuditTrail) {
  return (req: Request, res: Response, next: NextFunction): void => {
    res.on('finish', () => trail.record(auditEventFor(req, res)));
    next();
  };
}

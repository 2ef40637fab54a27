import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { AuditEvent, AuditEventEntity } from 'fhir/r4.js';
import type { AuditTrail } from '../hub/store/mongoAuditTrail.ts';
import type { StoredResource } from '../hub/store/resourceStore.ts';
import { searchIndexFor } from '../hub/store/searchIndex.ts';
import { principalOf } from './authorization.ts';
import { redactQuery } from './queryRedaction.ts';

/**
 * One AuditEvent per answered request (all but /healthz and successful /fhir/metadata reads),
 * written after the response is sent: who (token subject, client, address), what (the Patients
 * whose data was read, the query with credentials redacted), which interaction and how it
 * ended. Refused requests are recorded too, whatever refused them: authentication, content
 * negotiation, the body parser, or Node's HTTP parser before express saw the request
 * (parserRefusals.ts).
 */
const MAX_PATIENTS_PER_EVENT = 200;

/** Where the FHIR API is mounted (fhirApp.ts): interactions are read from the path below it. */
const FHIR_MOUNT = /^\/fhir(?=\/|$)/;

/** The request path below /fhir, from originalUrl: routers rewrite req.url and req.path while they run. */
function fhirPathOf(req: Request): string {
  const url = req.originalUrl;
  const q = url.indexOf('?');
  return (q < 0 ? url : url.slice(0, q)).replace(FHIR_MOUNT, '') || '/';
}

function interactionOf(method: string, path: string): { subtype: string; action: AuditEvent['action'] } {
  const parts = path.split('/').filter(Boolean);
  const op = parts.find((p) => p.startsWith('$'));
  if (op) return { subtype: op.slice(1), action: 'E' };
  if (method === 'DELETE') return { subtype: 'delete', action: 'D' };
  if (method !== 'GET' && method !== 'HEAD' && parts[parts.length - 1] !== '_search') return { subtype: method === 'POST' ? 'create' : 'update', action: method === 'POST' ? 'C' : 'U' };
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

const QUERY_ENTITY_TYPE = { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' };
const QUERY_ROLE = { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '24', display: 'Query' };

export function auditEventFor(req: Request, res: Response): AuditEvent & { id: string } {
  const path = fhirPathOf(req);
  const { subtype, action } = interactionOf(req.method, path);
  const principal = principalOf(res);
  const resources = (res.locals.auditResources as StoredResource[] | undefined) ?? [];
  const entities: AuditEventEntity[] = patientsIn(resources).map((ref) => ({
    what: { reference: ref },
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '1', display: 'Person' },
    role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' },
  }));
  const query = req.originalUrl.includes('?') ? redactQuery(req.originalUrl.slice(req.originalUrl.indexOf('?') + 1)) : '';
  if (query || subtype === 'search-type') {
    entities.push({ type: QUERY_ENTITY_TYPE, role: QUERY_ROLE, description: path, query: Buffer.from(query, 'utf8').toString('base64') });
  }
  return auditEvent({
    subtype, action, status: res.statusCode, address: req.ip ?? req.socket.remoteAddress ?? 'unknown',
    who: principal
      ? { identifier: { system: principal.issuer, value: principal.subject }, ...(principal.clientId ? { display: principal.clientId } : {}) }
      : { display: 'anonymous' },
    ...(principal?.tokenId ? { tokenId: principal.tokenId } : {}),
    entities,
  });
}

/**
 * A request Node's HTTP parser refused (headers too large, malformed) before express saw it:
 * no method, path or caller is known, only the address and the answer.
 */
export function auditEventForUnparsedRequest(status: number, reason: string, address: string): AuditEvent & { id: string } {
  return auditEvent({ status, address, who: { display: 'anonymous' }, entities: [], reason });
}

function auditEvent(e: {
  subtype?: string; action?: AuditEvent['action']; status: number; address: string; who: NonNullable<AuditEvent['agent'][number]['who']>;
  tokenId?: string; entities: AuditEventEntity[]; reason?: string;
}): AuditEvent & { id: string } {
  return {
    resourceType: 'AuditEvent',
    id: randomUUID(),
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'RESTful Operation' },
    ...(e.subtype ? { subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: e.subtype }] } : {}),
    ...(e.action ? { action: e.action } : {}),
    recorded: new Date().toISOString(),
    outcome: outcomeOf(e.status),
    ...(e.status >= 400 ? { outcomeDesc: e.reason ? `HTTP ${e.status}: ${e.reason}` : `HTTP ${e.status}` } : {}),
    agent: [{
      requestor: true,
      who: e.who,
      ...(e.tokenId ? { policy: [e.tokenId] } : {}),
      network: { address: e.address, type: '2' },
    }],
    source: {
      observer: { display: 'healthcare-integration-hub FHIR API' },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '3', display: 'Web Server' }],
    },
    ...(e.entities.length ? { entity: e.entities } : {}),
  };
}

/** Health probes and successful reads of the public CapabilityStatement are not audited. */
function unaudited(req: Request, res: Response): boolean {
  const path = req.originalUrl.split('?')[0]!;
  return path === '/healthz' || (fhirPathOf(req) === '/metadata' && FHIR_MOUNT.test(path) && res.statusCode < 400);
}

/** Mount first, before anything that can answer, so every answered request is recorded. */
export function auditRequests(trail: AuditTrail) {
  return (req: Request, res: Response, next: NextFunction): void => {
    res.on('finish', () => {
      if (!unaudited(req, res)) trail.record(auditEventFor(req, res));
    });
    next();
  };
}

import type { Coding, Identifier, Meta, Resource } from 'fhir/r4.js';
import { deterministicId } from '../core/deterministicId.ts';
import { HubError } from '../core/hubError.ts';
import { MAPPING_TAG_SYSTEM, type MappingSettings } from '../mapping/mappingEngine.ts';
import type { ResourceToStore } from './mappedResourceSteps.ts';
import { FHIR_INPUT_MAPPING_ID, type FhirInputRules } from './fhirInputRules.ts';

/**
 * Normalises FHIR from an upstream server (a Bundle of any type, or one resource) to the hub's
 * conventions: ids hashed from source system + type + identifier (or the upstream id),
 * references rewritten to those ids throughout the input, identifier and code systems mapped
 * to ours, lineage in meta.source / meta.tag, the hub's profiles claimed. Pure: no I/O.
 */

export interface FhirOrigin {
  sourceSystem: string;
  /** the envelope's control id, else the Bundle id, else the resource id: names the message in meta.source */
  controlId?: string;
}

export interface FhirMappingOutput {
  mappingId: string;
  mappingVersion: string;
  mappingFile: string;
  messageType: string;
  controlId?: string;
  resources: ResourceToStore[];
  patient?: string;
  eventTime?: string;
  warnings: string[];
}

type Json = Record<string, unknown>;

interface Entry {
  resource: Json & { resourceType: string };
  fullUrl?: string;
  /** Bundle.timestamp or the resource's lastUpdated: when the source says this version was made */
  time?: string;
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An instant in UTC, so source times compare as strings whatever offset the server wrote. */
function instantOf(v: unknown): string | undefined {
  if (typeof v !== 'string' || !v.includes('T')) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

function fail(message: string, path = ''): never {
  throw new HubError('FHIR_INPUT_INVALID', message, { path, mappingFile: FHIR_INPUT_MAPPING_ID });
}

/** The resources an input carries; DELETE requests and OperationOutcomes are left out with a warning. */
function entriesOf(input: unknown, warnings: string[]): { entries: Entry[]; messageType: string; bundleId?: string } {
  if (!isObject(input) || typeof input.resourceType !== 'string') fail('input is not a FHIR resource (no resourceType)');
  if (input.resourceType !== 'Bundle') {
    const time = instantOf(isObject(input.meta) ? input.meta.lastUpdated : undefined);
    return { entries: [{ resource: input as Entry['resource'], ...(time ? { time } : {}) }], messageType: input.resourceType };
  }
  const bundleTime = instantOf(input.timestamp) ?? instantOf(isObject(input.meta) ? input.meta.lastUpdated : undefined);
  const list = Array.isArray(input.entry) ? input.entry : [];
  const entries: Entry[] = [];
  let messageId: string | undefined;
  list.forEach((e, i) => {
    if (!isObject(e)) fail(`Bundle.entry[${i}] is not an object`, `Bundle.entry[${i}]`);
    const request = isObject(e.request) ? e.request : undefined;
    if (request?.method === 'DELETE') {
      warnings.push(`Bundle.entry[${i}]: DELETE ${String(request.url ?? '')} not applied (deletes from upstream are not propagated)`);
      return;
    }
    const r = e.resource;
    if (!isObject(r) || typeof r.resourceType !== 'string') fail(`Bundle.entry[${i}].resource is missing or has no resourceType`, `Bundle.entry[${i}].resource`);
    if (r.resourceType === 'MessageHeader' && i === 0 && input.type === 'message') {
      // the envelope of a FHIR message, not data: it only names the message
      if (typeof r.id === 'string') messageId = r.id;
      return;
    }
    if (r.resourceType === 'OperationOutcome' || r.resourceType === 'Bundle') {
      warnings.push(`Bundle.entry[${i}]: ${r.resourceType} skipped`);
      return;
    }
    const time = instantOf(isObject(r.meta) ? r.meta.lastUpdated : undefined) ?? bundleTime;
    entries.push({ resource: r as Entry['resource'], ...(typeof e.fullUrl === 'string' ? { fullUrl: e.fullUrl } : {}), ...(time ? { time } : {}) });
  });
  if (entries.length === 0) fail('Bundle carries no resource to store', 'Bundle.entry');
  const bundleId = messageId ?? (typeof input.id === 'string' ? input.id : undefined);
  return { entries, messageType: `Bundle/${String(input.type ?? '')}`, ...(bundleId ? { bundleId } : {}) };
}

function normalisedSystem(system: unknown, table: Record<string, string>): string | undefined {
  if (typeof system !== 'string') return undefined;
  return Object.hasOwn(table, system) ? table[system] : system;
}

/** The identifier that identifies this resource, per the resource-identity table. */
function identityOf(resource: Json, rules: FhirInputRules): Identifier | undefined {
  const prefs = rules.identity[resource.resourceType as string];
  if (!prefs) return undefined;
  const ids = (Array.isArray(resource.identifier) ? resource.identifier : isObject(resource.identifier) ? [resource.identifier] : [])
    .filter(isObject)
    .map((i) => ({ ...i, system: normalisedSystem(i.system, rules.identifierSystems) }) as Identifier)
    .filter((i) => typeof i.value === 'string' && i.value !== '' && typeof i.system === 'string');
  for (const pref of prefs) {
    const hit = ids.find((i) => pref === '*' || i.system === pref || i.type?.coding?.some((c) => c.code === pref));
    if (hit) return hit;
  }
  return undefined;
}

/** "Patient/1", "Patient/1/_history/2" or "http://up/fhir/Patient/1" → "Patient/1" */
function relativeOf(reference: string): string | undefined {
  const m = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(reference);
  return m ? `${m[1]}/${m[2]}` : undefined;
}

interface Rewrite {
  byKey: Map<string, string>;
  sourceSystem: string;
  base: string;
  rules: FhirInputRules;
  warnings: string[];
}

/** Walks one resource, rewriting references, identifier systems and coding systems. */
function rewrite(value: unknown, at: string, ctx: Rewrite, parentKey = ''): unknown {
  if (Array.isArray(value)) return value.map((v, i) => rewrite(v, `${at}[${i}]`, ctx, parentKey));
  if (!isObject(value)) return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) out[k] = rewrite(v, `${at}.${k}`, ctx, k);
  if (parentKey === 'identifier' || parentKey === 'masterIdentifier') {
    const system = normalisedSystem(out.system, ctx.rules.identifierSystems);
    if (system) out.system = system;
  }
  if (parentKey === 'coding' || (typeof out.code === 'string' && typeof out.system === 'string' && !('value' in out))) {
    const system = normalisedSystem(out.system, ctx.rules.codeSystems);
    if (system) out.system = system;
  }
  if (typeof out.reference === 'string' && !out.reference.startsWith('#')) {
    const ref = out.reference;
    const target = ctx.byKey.get(ref) ?? (relativeOf(ref) ? ctx.byKey.get(relativeOf(ref)!) : undefined);
    if (target) out.reference = target;
    else {
      // Not in this input: keep what it names as a logical reference instead of a dangling literal one.
      delete out.reference;
      const relative = relativeOf(ref);
      if (relative && !out.identifier) {
        const [type, id] = relative.split('/') as [string, string];
        out.type ??= type;
        out.identifier = { system: `${ctx.base}/${encodeURIComponent(ctx.sourceSystem)}/${type}-id`, value: id };
      }
      ctx.warnings.push(`${at}.reference: "${ref}" is not in this input; kept as a logical reference`);
    }
  }
  return out;
}

/** Maps one parsed FHIR input to the resources to store. */
export function mapFhirInput(input: unknown, origin: FhirOrigin, rules: FhirInputRules, settings: MappingSettings): FhirMappingOutput {
  const warnings: string[] = [];
  const { entries, messageType, bundleId } = entriesOf(input, warnings);
  const base = settings.identifierSystemBase.replace(/\/$/, '');
  const controlId = origin.controlId ?? bundleId ?? (typeof entries[0]!.resource.id === 'string' ? entries[0]!.resource.id : undefined);

  // Pass 1: the hub id of every resource, and every way the input may refer to it.
  const byKey = new Map<string, string>();
  const planned = entries.map((e, i) => {
    const type = e.resource.resourceType;
    const upstreamId = typeof e.resource.id === 'string' ? e.resource.id : undefined;
    const identity = identityOf(e.resource, rules);
    const id = identity
      ? deterministicId(type, origin.sourceSystem, 'identifier', identity.system!, identity.value!)
      : upstreamId
        ? deterministicId(type, origin.sourceSystem, 'id', upstreamId)
        : e.fullUrl
          ? deterministicId(type, origin.sourceSystem, 'fullUrl', e.fullUrl)
          : deterministicId(type, origin.sourceSystem, 'message', controlId ?? '', i);
    if (!identity && !upstreamId) warnings.push(`entry[${i}] ${type}: no identifier or id; id derived from the message`);
    const reference = `${type}/${id}`;
    if (e.fullUrl) byKey.set(e.fullUrl, reference);
    if (upstreamId) byKey.set(`${type}/${upstreamId}`, reference);
    return { entry: e, id, reference, index: i };
  });

  // Pass 2: bodies. The same resource twice (a history bundle) keeps its newest version.
  const ctx: Rewrite = { byKey, sourceSystem: origin.sourceSystem, base, rules, warnings };
  const tag = { system: MAPPING_TAG_SYSTEM, code: FHIR_INPUT_MAPPING_ID, version: rules.version };
  const byReference = new Map<string, ResourceToStore>();
  for (const p of planned) {
    const { resourceType, id: _upstreamId, meta: upstreamMeta, ...body } = p.entry.resource;
    const rewritten = rewrite(body, `${resourceType}`, ctx) as Json;
    const upstream = (isObject(upstreamMeta) ? upstreamMeta : {}) as Meta;
    const profiles = [...new Set([...(upstream.profile ?? []), ...(rules.profiles[resourceType] ?? [])])];
    const meta: Meta = {
      source: `${base}/source/${encodeURIComponent(origin.sourceSystem)}#${controlId ?? ''}`,
      ...(profiles.length ? { profile: profiles } : {}),
      ...(upstream.security?.length ? { security: upstream.security } : {}),
      tag: [...(upstream.tag ?? []).filter((t: Coding) => t.system !== MAPPING_TAG_SYSTEM), tag],
    };
    const resource = { resourceType, id: p.id, meta, ...rewritten } as Resource & { id: string };
    const previous = byReference.get(p.reference);
    if (previous && previous.sourceTime && p.entry.time && previous.sourceTime > p.entry.time) continue;
    if (previous) warnings.push(`entry[${p.index}] ${p.reference}: appears more than once; the newest version is kept`);
    byReference.set(p.reference, { key: resourceType.charAt(0).toLowerCase() + resourceType.slice(1), resource, ...(p.entry.time ? { sourceTime: p.entry.time } : {}) });
  }
  const resources = [...byReference.values()];
  const patients = resources.filter((r) => r.resource.resourceType === 'Patient');
  const times = resources.map((r) => r.sourceTime).filter((t): t is string => !!t).sort();
  return {
    mappingId: FHIR_INPUT_MAPPING_ID,
    mappingVersion: rules.version,
    mappingFile: 'fhir/codemaps/resource-identity.yaml',
    messageType,
    ...(controlId ? { controlId } : {}),
    resources,
    ...(patients.length === 1 ? { patient: `Patient/${patients[0]!.resource.id}` } : {}),
    ...(times.length ? { eventTime: times[times.length - 1] } : {}),
    warnings,
  };
}

import type { Resource } from 'fhir/r4.js';
import { deterministicId } from '../core/deterministicId.ts';
import { HubError } from '../core/hubError.ts';
import type { PatientDirective } from '../core/patientDirective.ts';
import type { Hl7Message } from '../hl7v2/hl7Message.ts';
import { applyPart, buildFields, evaluate, idFromValues, isConstantExpr, isEmpty, iterationScopes, test, type EvalContext } from './expressionEvaluator.ts';
import { familyOf, type Loaded, type MappingRegistry } from './mappingRegistry.ts';
import {
  isBlock, isInclude, type DirectiveSpec, type GroupSpec, type IdRefSpec, type MessageMappingSpec, type ResourceItem, type ResourceSpec,
} from './mappingTypes.ts';
import { Scope, scopesPerGroup } from './segmentScope.ts';

export const MAPPING_TAG_SYSTEM = 'urn:hub:mapping';

export interface MessageOrigin {
  sourceSystem: string;
  connectorId: string;
  receivedAt: string;
}

export interface MappingSettings {
  timeZone: string;
  identifierSystemBase: string;
  siteName?: string;
}

export interface MappedResource {
  key: string;
  resource: Resource & { id: string };
}

export interface MappingOutput {
  mappingId: string;
  mappingVersion: string;
  mappingFile: string;
  resources: MappedResource[];
  /** reference of the resource named by the mapping's `patient` key, if produced */
  patient?: string;
  /** when the event happened at the source (EVN-2, else MSH-7), as a FHIR instant */
  eventTime?: string;
  /** what the message says about patient identity (A40/A47 merge, A37 unlink), for the patient index */
  directives?: PatientDirective[];
  warnings: string[];
}

const listOf = (v: string | string[] | undefined): string[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);

/** The mapping for a message: the first whose match names its type, trigger and structure. */
export function selectMapping(registry: MappingRegistry, message: Hl7Message): Loaded<MessageMappingSpec> {
  const type = message.messageType ?? '';
  const trigger = message.triggerEvent ?? '';
  const structure = message.messageStructure ?? '';
  const candidates = registry.messages.filter(({ spec }) => familyOf(spec.id) === 'hl7v2' && listOf(spec.match.messageType)!.includes(type));
  if (candidates.length === 0) {
    throw new HubError('MAPPING_UNSUPPORTED_MESSAGE_TYPE', `no mapping handles message type ${type}`, { hl7: { segment: 'MSH', field: 9 } });
  }
  const hit = candidates.find(({ spec }) => {
    const triggers = listOf(spec.match.triggerEvent);
    const structures = listOf(spec.match.structure);
    return (!triggers || triggers.includes(trigger)) && (!structures || !structure || structures.includes(structure));
  });
  if (!hit) {
    throw new HubError('MAPPING_UNSUPPORTED_EVENT', `no mapping handles ${type}^${trigger}${structure ? ` (${structure})` : ''}`, { hl7: { segment: 'MSH', field: 9, component: 2 } });
  }
  return hit;
}

interface Planned {
  spec: ResourceSpec;
  scope: Scope;
  id: string;
  /** the file that declared the resource (the message, or an included group) */
  file: string;
}

/** Deep enough for any sensible nesting of groups; deeper means a group includes itself. */
const MAX_INCLUDE_DEPTH = 8;

function scopesFor(each: string | GroupSpec | undefined, scope: Scope): Scope[] {
  if (each === undefined) return [scope];
  if (typeof each === 'string') return iterationScopes(each, scope);
  return scopesPerGroup(scope, each);
}

/** Maps one parsed HL7v2 message to FHIR resources with deterministic ids. */
export function mapHl7Message(
  message: Hl7Message,
  origin: MessageOrigin,
  registry: MappingRegistry,
  settings: MappingSettings,
  chosen: Loaded<MessageMappingSpec> = selectMapping(registry, message),
): MappingOutput {
  const { spec, file } = chosen;
  const warnings: string[] = [];
  const ctx: EvalContext = {
    registry,
    family: familyOf(spec.id),
    file,
    timeZone: settings.timeZone,
    warnings,
    transformContext: { identifierSystemBase: settings.identifierSystemBase, sourceSystem: origin.sourceSystem },
    vars: {
      sourceSystem: origin.sourceSystem,
      connectorId: origin.connectorId,
      receivedAt: origin.receivedAt,
      controlId: message.controlId,
      messageType: message.messageType,
      triggerEvent: message.triggerEvent,
      sendingFacility: message.sendingFacility,
      sendingApplication: message.sendingApplication,
      mappingId: spec.id,
      mappingVersion: spec.version,
      identifierSystemBase: settings.identifierSystemBase,
      siteName: settings.siteName,
    },
  };
  const root = new Scope(message.segments);

  // Pass 1: ids first, so a resource can reference one declared after it.
  const planned: Planned[] = [];
  const seenIds = new Set<string>();
  const plan = (list: ResourceItem[], scope: Scope, where: string, from: string, depth: number) => {
    const fileCtx = from === file ? ctx : { ...ctx, file: from };
    list.forEach((item, i) => {
      const at = `${where}[${i}]`;
      if (isInclude(item)) {
        if (item.when && !test(item.when, scope, fileCtx, `${at}.when`)) return;
        if (depth >= MAX_INCLUDE_DEPTH) throw new HubError('MAPPING_INCLUDE_CYCLE', `${from}: ${at}: groups nested deeper than ${MAX_INCLUDE_DEPTH} (does "${item.include}" include itself?)`, { path: at, mappingFile: from });
        const group = registry.group(item.include, ctx.family);
        plan(group.spec.resources, scope, `${group.spec.id}.resources`, group.file, depth + 1);
        return;
      }
      for (const s of scopesFor(item.each, scope)) {
        if (item.when && !test(item.when, s, fileCtx, `${at}.when`)) continue;
        if (isBlock(item)) {
          plan(item.resources, s, `${at}.resources`, from, depth);
          continue;
        }
        const parts = item.id.hash.map((e, j) => evaluate(e, s, fileCtx, `${at}.id.hash[${j}]`));
        const informative = item.id.hash.some((e, j) => !isConstantExpr(e) && !isEmpty(parts[j]));
        let id = informative
          ? idFromValues(item.type, parts)
          // Without identifying data the id is tied to this message: replays stay idempotent.
          : deterministicId(item.type, origin.sourceSystem, message.controlId, item.key, s.index, planned.length);
        if (!informative) warnings.push(`${from}: ${at}: no identifying value for ${item.type} "${item.key}"; id derived from the message control id`);
        if (item.shared && seenIds.has(`${item.type}/${id}`)) {
          s.register(item.key, `${item.type}/${id}`);
          continue;
        }
        if (seenIds.has(`${item.type}/${id}`)) {
          // Two instances hashing alike inside one message (e.g. two OBX with the same code and no set id)
          // must not collapse into one resource.
          id = deterministicId(item.type, id, planned.length);
        }
        seenIds.add(`${item.type}/${id}`);
        s.register(item.key, `${item.type}/${id}`);
        planned.push({ spec: item, scope: s, id, file: from });
      }
    });
  };
  plan(spec.resources, root, 'resources', file, 0);

  // Pass 2: bodies.
  const meta = {
    source: `${settings.identifierSystemBase.replace(/\/$/, '')}/source/${encodeURIComponent(origin.sourceSystem)}#${message.controlId ?? ''}`,
    tag: [{ system: MAPPING_TAG_SYSTEM, code: spec.id, version: spec.version }],
  };
  let resources: MappedResource[] = planned.map((p, i) => {
    const where = `resources(${p.spec.key})[${i}]`;
    const fileCtx = p.file === file ? ctx : { ...ctx, file: p.file };
    const body: Record<string, unknown> = {};
    for (const name of listOf(p.spec.use) ?? []) Object.assign(body, applyPart(name, p.scope, fileCtx, where));
    Object.assign(body, buildFields(p.spec.fields ?? {}, p.scope, fileCtx, where));
    return {
      key: p.spec.key,
      resource: { resourceType: p.spec.type, id: p.id, meta, ...body } as Resource & { id: string },
    };
  });
  resources = dropEmpty(resources);

  let eventTime: string | undefined;
  try {
    const t = evaluate(spec.eventTime ?? { first: ['EVN-2', 'MSH-7'], as: 'instant' }, root, ctx, 'eventTime');
    if (typeof t === 'string' && t.includes('T')) eventTime = new Date(t).toISOString();
  } catch (err) {
    warnings.push(`${file}: eventTime: ${(err as Error).message}`);
  }

  const directives = (spec.directives ?? []).flatMap((d, i) => directivesFor(d, root, ctx, `directives[${i}]`, message.controlId));

  const patientRef = spec.patient ? root.resolveOne(spec.patient) : undefined;
  return {
    mappingId: spec.id,
    mappingVersion: spec.version,
    mappingFile: file,
    resources,
    ...(patientRef && resources.some((r) => `${r.resource.resourceType}/${r.resource.id}` === patientRef) ? { patient: patientRef } : {}),
    ...(eventTime ? { eventTime } : {}),
    ...(directives.length ? { directives } : {}),
    warnings,
  };
}

/** `Type/id` of a source record named by its identifying values, with the resource id rule. */
function idReference(spec: IdRefSpec, scope: Scope, ctx: EvalContext, where: string): string | undefined {
  const parts = spec.hash.map((e, j) => evaluate(e, scope, ctx, `${where}.hash[${j}]`));
  if (!spec.hash.some((e, j) => !isConstantExpr(e) && !isEmpty(parts[j]))) {
    ctx.warnings.push(`${ctx.file}: ${where}: no identifying value; directive left out`);
    return undefined;
  }
  return `${spec.type}/${idFromValues(spec.type, parts)}`;
}

function directivesFor(d: DirectiveSpec, root: Scope, ctx: EvalContext, where: string, controlId: string | undefined): PatientDirective[] {
  const sourceSystem = ctx.transformContext.sourceSystem;
  const out: PatientDirective[] = [];
  scopesFor(d.each, root).forEach((s, i) => {
    const at = `${where}[${i}]`;
    if (d.when && !test(d.when, s, ctx, `${at}.when`)) return;
    const [a, b] = d.kind === 'merge' ? [d.survivor, d.retired] : [d.patient, d.other];
    if (!a || !b) throw new HubError('MAPPING_DIRECTIVE_INCOMPLETE', `${ctx.file}: ${at}: a ${d.kind} directive needs ${d.kind === 'merge' ? 'survivor and retired' : 'patient and other'}`, { path: at, mappingFile: ctx.file });
    const first = idReference(a, s, ctx, `${at}.${d.kind === 'merge' ? 'survivor' : 'patient'}`);
    const second = idReference(b, s, ctx, `${at}.${d.kind === 'merge' ? 'retired' : 'other'}`);
    // A record merged into itself says nothing (the sender repeated the identifier).
    if (!first || !second || first === second) return;
    const common = { sourceSystem, ...(controlId ? { controlId } : {}) };
    out.push(d.kind === 'merge' ? { kind: 'merge', survivor: first, retired: second, ...common } : { kind: 'unlink', patient: first, other: second, ...common });
  });
  return out;
}

/**
 * A resource with nothing but its id and meta says nothing; drop it, and any reference to it,
 * so the output has no empty resources and no dangling references.
 */
function dropEmpty(resources: MappedResource[]): MappedResource[] {
  let current = resources;
  for (;;) {
    const empty = new Set(
      current.filter((r) => Object.keys(r.resource).every((k) => k === 'resourceType' || k === 'id' || k === 'meta'))
        .map((r) => `${r.resource.resourceType}/${r.resource.id}`),
    );
    if (empty.size === 0) return current;
    current = current
      .filter((r) => !empty.has(`${r.resource.resourceType}/${r.resource.id}`))
      .map((r) => ({ key: r.key, resource: stripReferences(r.resource, empty) as Resource & { id: string } }));
  }
}

function stripReferences(value: unknown, dropped: Set<string>): unknown {
  if (Array.isArray(value)) {
    const items = value.map((v) => stripReferences(v, dropped)).filter((v) => !isEmpty(v));
    return items;
  }
  if (typeof value === 'object' && value !== null) {
    const obj = value as Record<string, unknown>;
    if (typeof obj.reference === 'string' && dropped.has(obj.reference)) return undefined;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      const s = stripReferences(v, dropped);
      if (!isEmpty(s)) out[k] = s;
    }
    return out;
  }
  return value;
}

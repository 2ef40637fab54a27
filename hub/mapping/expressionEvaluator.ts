import { deterministicId } from '../core/deterministicId.ts';
import { HubError } from '../core/hubError.ts';
import { hl7ToFhirDate, hl7ToFhirDateTime, hl7ToFhirInstant } from '../hl7v2/hl7DateTime.ts';
import { repetitionValue, type Hl7Repetition } from '../hl7v2/hl7Message.ts';
import { parseHl7Path } from './hl7Path.ts';
import type { MappingRegistry } from './mappingRegistry.ts';
import type { Condition, Expr, ExprObject, FieldsSpec, PrimitiveKind } from './mappingTypes.ts';
import { Scope, scopesPerSegment } from './segmentScope.ts';
import { getTransform, type TransformContext } from './transforms.ts';

export interface EvalContext {
  registry: MappingRegistry;
  /** mapping family (`hl7v2`), for resolving part and code map names */
  family: string;
  /** the file being evaluated, for error messages */
  file: string;
  vars: Record<string, string | undefined>;
  timeZone: string;
  transformContext: TransformContext;
  warnings: string[];
}

/** Constants and variables say nothing about which thing a resource is. */
export function isConstantExpr(e: Expr): boolean {
  return typeof e === 'number' || typeof e === 'boolean' || (typeof e === 'object' && (e.const !== undefined || e.var !== undefined));
}

/** The id rule every resource, directive and computed reference shares. */
export function idFromValues(type: string, values: readonly unknown[]): string {
  return deterministicId(type, ...values.map((p) => (isEmpty(p) ? null : typeof p === 'string' ? p : JSON.stringify(p))));
}

/** Empty values are never written: no "", no {}, no [] in our FHIR. */
export function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v as object).length === 0;
  return false;
}

function fail(ctx: EvalContext, where: string, message: string, cause?: unknown): never {
  if (cause instanceof HubError && cause.detail.mappingFile) throw cause;
  throw new HubError(
    cause instanceof HubError ? cause.code.replace(/^HL7_/, 'MAPPING_') : 'MAPPING_EVALUATION_FAILED',
    `${ctx.file}: ${where}: ${message}`,
    { path: where, mappingFile: ctx.file },
    { cause },
  );
}

export function evaluate(expr: Expr, scope: Scope, ctx: EvalContext, where: string): unknown {
  if (typeof expr === 'number' || typeof expr === 'boolean') return expr;
  if (typeof expr === 'string') return readPath(expr, scope);
  if (expr.when && !test(expr.when, scope, ctx, where)) return undefined;
  let value = base(expr, scope, ctx, where);
  if (expr.fn) {
    try {
      const args = (expr.args ?? []).map((a, i) => evaluate(a, scope, ctx, `${where}.args[${i}]`));
      value = getTransform(expr.fn)(value, args, ctx.transformContext);
    } catch (err) {
      fail(ctx, where, `fn ${expr.fn}: ${(err as Error).message}`, err);
    }
  }
  if (expr.map && !isEmpty(value)) value = lookup(expr.map, undefined, false, value, ctx, where, 'inline map');
  if (expr.codemap && !isEmpty(value)) {
    const cm = ctx.registry.codemap(expr.codemap, ctx.family);
    value = lookup(cm.map, cm.default, cm.caseSensitive ?? false, value, ctx, where, `codemap ${expr.codemap}`);
  }
  if (expr.as && !isEmpty(value)) value = convert(expr.as, value, ctx, where);
  if (isEmpty(value) && expr.default !== undefined) value = expr.default;
  return value;
}

function base(expr: ExprObject, scope: Scope, ctx: EvalContext, where: string): unknown {
  if (expr.path !== undefined) return readPath(expr.path, scope);
  if (expr.const !== undefined) return expr.const;
  if (expr.var !== undefined) return ctx.vars[expr.var];
  if (expr.ref !== undefined) {
    const ref = scope.resolveOne(expr.ref);
    return ref ? { reference: ref } : undefined;
  }
  if (expr.refs !== undefined) return scope.resolveAll(expr.refs).map((reference) => ({ reference }));
  if (expr.refTo !== undefined) {
    const parts = expr.refTo.hash.map((e, j) => evaluate(e, scope, ctx, `${where}.refTo.hash[${j}]`));
    if (!expr.refTo.hash.some((e, j) => !isConstantExpr(e) && !isEmpty(parts[j]))) return undefined;
    return { reference: `${expr.refTo.type}/${idFromValues(expr.refTo.type, parts)}` };
  }
  if (expr.each !== undefined) return evaluateEach(expr, scope, ctx, where);
  if (expr.use !== undefined) {
    const target = expr.at !== undefined ? locate(expr.at, scope) : scope;
    return target ? applyPart(expr.use, target, ctx, where) : undefined;
  }
  if (expr.fields !== undefined) return buildFields(expr.fields, scope, ctx, where);
  if (expr.value !== undefined) return evaluate(expr.value, scope, ctx, where);
  if (expr.first !== undefined) {
    const last = expr.first.length - 1;
    for (const [i, e] of expr.first.entries()) {
      // A miss in an alternative that has a successor is expected, not worth a warning.
      const inner = i < last ? { ...ctx, warnings: [] } : ctx;
      const v = evaluate(e, scope, inner, `${where}.first[${i}]`);
      if (!isEmpty(v)) return v;
    }
    return undefined;
  }
  if (expr.concat !== undefined) {
    const parts = expr.concat.map((e, i) => evaluate(e, scope, ctx, `${where}.concat[${i}]`)).filter((v) => !isEmpty(v));
    return parts.length ? parts.map(String).join(expr.sep ?? '') : undefined;
  }
  if (expr.list !== undefined) {
    return expr.list.flatMap((e, i) => {
      const v = evaluate(e, scope, ctx, `${where}.list[${i}]`);
      return isEmpty(v) ? [] : Array.isArray(v) ? v : [v];
    });
  }
  return undefined;
}

/**
 * A leaf value at an HL7 path, trimmed (senders pad fixed-width fields); null (HL7 `""`) and
 * blank read as nothing.
 */
export function readPath(text: string, scope: Scope): string | undefined {
  const p = parseHl7Path(text);
  let v: string | null | undefined;
  if (p.kind === 'datatype') v = repetitionValue(scope.repetition, p.component, p.sub ?? 1);
  else {
    const seg = scope.findSegment(p.segment, p.occurrence);
    if (!seg) return undefined;
    if (p.kind === 'segment') return seg.name;
    const rep = p.repetition === 'all' || p.repetition === undefined ? 0 : p.repetition;
    v = seg.value(p.field, rep, p.component ?? 1, p.sub ?? 1);
  }
  const t = v?.trim();
  return t ? t : undefined;
}

/** The scopes `each` iterates: segments, or the repetitions of a field. */
export function iterationScopes(text: string, scope: Scope): Scope[] {
  const p = parseHl7Path(text);
  if (p.kind === 'segment') {
    const all = scopesPerSegment(scope, p.segment);
    return p.indexed ? all.slice(p.occurrence, p.occurrence + 1) : all;
  }
  if (p.kind === 'datatype') {
    const rep = scope.repetition?.[p.component - 1];
    return rep ? [scope.withRepetition(rep.map((s) => [s]))] : [];
  }
  const seg = scope.findSegment(p.segment, p.occurrence);
  if (!seg) return [];
  const reps = seg.field(p.field);
  const chosen = typeof p.repetition === 'number' ? reps.slice(p.repetition, p.repetition + 1) : reps;
  return chosen.map((r, i) => scope.withRepetition(narrow(r, p.component), i));
}

/** `at: PID-11[1]` or `at: CX.4`: the value a datatype part reads. */
function locate(text: string, scope: Scope): Scope | undefined {
  const p = parseHl7Path(text);
  if (p.kind === 'segment') {
    const seg = scope.findSegment(p.segment, p.occurrence);
    return seg ? new Scope([seg], scope, seg) : undefined;
  }
  if (p.kind === 'datatype') {
    const comp = scope.repetition?.[p.component - 1];
    return comp ? scope.withRepetition(comp.map((s) => [s])) : undefined;
  }
  const seg = scope.findSegment(p.segment, p.occurrence);
  const rep = seg?.field(p.field)[typeof p.repetition === 'number' ? p.repetition : 0];
  return rep ? scope.withRepetition(narrow(rep, p.component)) : undefined;
}

/** A component's sub-components become the components of the value a part reads (CX-4 is an HD). */
function narrow(rep: Hl7Repetition, component: number | undefined): Hl7Repetition {
  if (component === undefined) return rep;
  return (rep[component - 1] ?? []).map((s) => [s]);
}

function evaluateEach(expr: ExprObject, scope: Scope, ctx: EvalContext, where: string): unknown[] {
  const out: unknown[] = [];
  iterationScopes(expr.each!, scope).forEach((s, i) => {
    const at = `${where}[${i}]`;
    let v: unknown;
    if (expr.use !== undefined) v = applyPart(expr.use, s, ctx, at);
    else if (expr.fields !== undefined) v = buildFields(expr.fields, s, ctx, at);
    else if (expr.value !== undefined) v = evaluate(expr.value, s, ctx, at);
    else v = s.repetition ? repetitionValue(s.repetition) : undefined;
    if (isEmpty(v)) return;
    if (Array.isArray(v)) out.push(...v);
    else out.push(v);
  });
  return out;
}

export function applyPart(name: string, scope: Scope, ctx: EvalContext, where: string): unknown {
  const part = ctx.registry.part(name, ctx.family);
  const inner: EvalContext = { ...ctx, file: part.file };
  if (part.spec.fields) return buildFields(part.spec.fields, scope, inner, `${where} (${part.spec.id})`);
  if (part.spec.value !== undefined) return evaluate(part.spec.value, scope, inner, `${where} (${part.spec.id})`);
  return undefined;
}

export function buildFields(fields: FieldsSpec, scope: Scope, ctx: EvalContext, where: string): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const [key, expr] of Object.entries(fields)) {
    const v = evaluate(expr, scope, ctx, where ? `${where}.${key}` : key);
    if (!isEmpty(v)) setDotted(out, key, v);
  }
  return isEmpty(out) ? undefined : out;
}

function setDotted(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let node = target;
  for (const k of keys.slice(0, -1)) {
    const next = node[k];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[k] = {};
    node = node[k] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

export function test(cond: Condition, scope: Scope, ctx: EvalContext, where: string): boolean {
  if (cond.all) return cond.all.every((c) => test(c, scope, ctx, where));
  if (cond.any) return cond.any.some((c) => test(c, scope, ctx, where));
  if (cond.not) return !test(cond.not, scope, ctx, where);
  if (cond.exists !== undefined) return present(cond.exists, scope, ctx, where);
  if (cond.missing !== undefined) return !present(cond.missing, scope, ctx, where);
  if (cond.value !== undefined) {
    const v = evaluate(cond.value, scope, ctx, `${where}.when`);
    if (cond.equals !== undefined) return String(v ?? '') === String(cond.equals);
    if (cond.in !== undefined) return !isEmpty(v) && cond.in.map(String).includes(String(v));
    if (cond.matches !== undefined) return typeof v === 'string' && new RegExp(cond.matches).test(v);
    return !isEmpty(v);
  }
  return true;
}

function present(expr: Expr, scope: Scope, ctx: EvalContext, where: string): boolean {
  if (typeof expr === 'string') {
    const p = parseHl7Path(expr);
    if (p.kind === 'segment') return scope.findSegment(p.segment, p.occurrence) !== undefined;
  }
  return !isEmpty(evaluate(expr, scope, ctx, `${where}.when`));
}

/** Case-insensitive lookups ask every table many times per message: index each table once. */
const lowerCaseIndexes = new WeakMap<Record<string, unknown>, Map<string, unknown>>();
function lowerCaseIndex(table: Record<string, unknown>): Map<string, unknown> {
  let index = lowerCaseIndexes.get(table);
  if (!index) {
    index = new Map();
    for (const [k, v] of Object.entries(table)) if (!index.has(k.toLowerCase())) index.set(k.toLowerCase(), v);
    lowerCaseIndexes.set(table, index);
  }
  return index;
}

function lookup(table: Record<string, unknown>, fallback: unknown, caseSensitive: boolean, value: unknown, ctx: EvalContext, where: string, what: string): unknown {
  const key = String(value);
  if (Object.hasOwn(table, key)) return table[key];
  if (!caseSensitive) {
    const lowered = lowerCaseIndex(table);
    const lower = key.toLowerCase();
    if (lowered.has(lower)) return lowered.get(lower);
  }
  if (fallback !== undefined) return fallback;
  ctx.warnings.push(`${ctx.file}: ${where}: "${key}" is not in ${what}; value left out`);
  return undefined;
}

function convert(kind: PrimitiveKind, value: unknown, ctx: EvalContext, where: string): unknown {
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return value;
  const text = String(value).trim();
  try {
    switch (kind) {
      case 'string': return String(value);
      case 'code': return text;
      case 'date': return hl7ToFhirDate(text);
      case 'dateTime': return hl7ToFhirDateTime(text, ctx.timeZone);
      case 'instant': return hl7ToFhirInstant(text, ctx.timeZone);
      case 'time': {
        const m = /^(\d{2})(\d{2})?(\d{2})?(\.\d+)?$/.exec(text.replace(/:/g, ''));
        if (!m) throw new Error(`"${text}" is not an HL7 time (HHMM[SS])`);
        return `${m[1]}:${m[2] ?? '00'}:${m[3] ?? '00'}`;
      }
      case 'integer': case 'positiveInt': case 'unsignedInt': {
        if (!/^[+-]?\d+$/.test(text)) throw new Error(`"${text}" is not an integer`);
        const n = Number(text);
        if (kind === 'positiveInt' && n < 1) throw new Error(`"${text}" is not a positive integer`);
        if (kind === 'unsignedInt' && n < 0) throw new Error(`"${text}" is negative`);
        return n;
      }
      case 'decimal': {
        if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw new Error(`"${text}" is not a decimal number`);
        return Number(text);
      }
      case 'boolean': {
        const t = text.toUpperCase();
        if (['Y', 'YES', 'TRUE', '1', 'T'].includes(t)) return true;
        if (['N', 'NO', 'FALSE', '0', 'F'].includes(t)) return false;
        throw new Error(`"${text}" is not a boolean (Y/N)`);
      }
    }
  } catch (err) {
    fail(ctx, where, `cannot read as ${kind}: ${(err as Error).message}`, err);
  }
  return value;
}

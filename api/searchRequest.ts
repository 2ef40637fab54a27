import { HubError } from '../hub/core/hubError.ts';
import { fhirDateRange } from '../hub/store/fhirDateRange.ts';
import type { ComparisonPrefix, IndexCriterion, IndexMatch } from '../hub/store/resourceStore.ts';
import { referenceKey } from '../hub/store/searchIndex.ts';
import { SEARCHABLE_TYPES, searchParamOf, type SearchParamDefinition } from '../hub/store/searchParameterTable.ts';
import type { ApiLimits } from './apiLimits.ts';
import { integerParameter, parameterError } from './parameterValue.ts';

/**
 * A FHIR search query string parsed against the search-parameter tables: conditions the store
 * can run as they are, plus the parts that need other searches first (chains, _has) and the
 * result parameters. Pure; every refusal names the parameter.
 */
export type QueryPairs = Array<[string, string]>;

export interface ChainCriterion {
  param: string;
  targetType: string;
  /** the rest of the chain, as a query on the target type */
  inner: QueryPairs;
}

export interface HasCriterion {
  /** the type whose resources refer to the searched ones */
  type: string;
  refParam: string;
  /** conditions one referring resource must meet together */
  inner: QueryPairs;
}

export interface IncludeSpec {
  sourceType: string;
  param: string;
  targetType?: string;
}

export const SUMMARY_MODES = ['true', 'false', 'text', 'data', 'count'] as const;
export type SummaryMode = (typeof SUMMARY_MODES)[number];
export type TotalMode = 'none' | 'estimate' | 'accurate';

export interface ParsedSearch {
  type: string;
  where: IndexCriterion[];
  chains: ChainCriterion[];
  has: HasCriterion[];
  sortBy: Array<{ param: string; descending?: boolean }>;
  count: number;
  offset: number;
  total: TotalMode;
  include: IncludeSpec[];
  revinclude: IncludeSpec[];
  summary?: SummaryMode;
  elements?: string[];
  /** the parameters as received, for paging links */
  pairs: QueryPairs;
}

/** Parameters that shape the response, not the match; accepted on any search. */
const RESULT_PARAMS = new Set(['_count', '_offset', '_sort', '_total', '_include', '_revinclude', '_include:iterate', '_revinclude:iterate', '_summary', '_elements', '_format', '_pretty']);

const bad = parameterError;

export function queryPairs(url: string): QueryPairs {
  const q = url.indexOf('?');
  return q < 0 ? [] : [...new URLSearchParams(url.slice(q + 1)).entries()];
}

function splitValues(name: string, value: string, limits: ApiLimits): string[] {
  // `\,` is a literal comma inside one value
  const parts = value.split(/(?<!\\),/).map((v) => v.replace(/\\,/g, ','));
  if (parts.length > limits.maxValuesPerParameter) throw bad(name, `${name} has more than ${limits.maxValuesPerParameter} alternatives`);
  return parts;
}

const PREFIX = /^(eq|ne|gt|lt|ge|le|sa|eb|ap)/;

function prefixed(value: string): [ComparisonPrefix, string] {
  const m = PREFIX.exec(value);
  return m ? [m[1] as ComparisonPrefix, value.slice(2)] : ['eq', value];
}

function dateMatch(name: string, value: string): IndexMatch {
  const [prefix, text] = prefixed(value);
  const range = fhirDateRange(text);
  if (!range) throw bad(name, `${name}: "${value}" is not a FHIR date (e.g. 1990-03-07, ge2026-01, lt2026-11-23T08:00:00+08:00)`);
  return { kind: 'date', prefix, range };
}

function quantityMatch(name: string, value: string): IndexMatch {
  const [prefix, text] = prefixed(value);
  const [num = '', system, code] = text.split('|');
  if (!/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(num)) throw bad(name, `${name}: "${value}" is not [prefix]number[|system|code]`);
  const decimals = num.includes('.') ? num.split('.')[1]!.replace(/[eE].*$/, '').length : 0;
  return { kind: 'quantity', prefix, value: Number(num), decimals, ...(system ? { system } : {}), ...(code ? { code } : {}) };
}

function referenceMatches(def: SearchParamDefinition, modifierType: string | undefined, value: string): IndexMatch[] {
  const key = value.includes('/') ? referenceKey(value) : undefined;
  if (value.includes('/') && !key) throw bad(def.name, `${def.name}: "${value}" is not a reference (Type/id)`);
  if (key) return [{ kind: 'entry', value: key }];
  const types = modifierType ? [modifierType] : def.targets ?? SEARCHABLE_TYPES;
  return types.map((t) => ({ kind: 'entry', value: `${t}/${value}` }));
}

function criterionFor(def: SearchParamDefinition, modifier: string | undefined, value: string, limits: ApiLimits): IndexCriterion {
  const name = def.name;
  if (modifier === 'missing') {
    if (value !== 'true' && value !== 'false') throw bad(`${name}:missing`, `${name}:missing must be true or false`);
    return { param: name, missing: value === 'true' };
  }
  const values = splitValues(name, value, limits);
  if (values.some((v) => v === '')) throw bad(name, `${name} has an empty value`);
  switch (def.type) {
    case 'string': {
      if (modifier && modifier !== 'exact' && modifier !== 'contains') throw bad(`${name}:${modifier}`, `modifier :${modifier} is not supported on string parameter ${name}`);
      const mode = modifier === 'exact' ? 'exact' : modifier === 'contains' ? 'contains' : 'prefix';
      return { param: name, anyOf: values.map((v) => ({ kind: 'string', value: v, mode })) };
    }
    case 'token': {
      if (modifier && modifier !== 'not') throw bad(`${name}:${modifier}`, `modifier :${modifier} is not supported on token parameter ${name}`);
      return { param: name, anyOf: values.map((v) => ({ kind: 'entry', value: v })), ...(modifier === 'not' ? { negate: true } : {}) };
    }
    case 'reference': {
      if (modifier && !/^[A-Z][A-Za-z]+$/.test(modifier)) throw bad(`${name}:${modifier}`, `modifier :${modifier} is not supported on reference parameter ${name}`);
      return { param: name, anyOf: values.flatMap((v) => referenceMatches(def, modifier, v)) };
    }
    case 'date':
      if (modifier) throw bad(`${name}:${modifier}`, `modifier :${modifier} is not supported on date parameter ${name}`);
      return { param: name, anyOf: values.map((v) => dateMatch(name, v)) };
    case 'quantity':
      if (modifier) throw bad(`${name}:${modifier}`, `modifier :${modifier} is not supported on quantity parameter ${name}`);
      return { param: name, anyOf: values.map((v) => quantityMatch(name, v)) };
  }
}

function unknown(type: string, name: string): HubError {
  return new HubError('API_PARAMETER_UNKNOWN', `unknown search parameter "${name}" for ${type}`, { path: name });
}


function includeSpec(name: string, value: string, searchedType: string, rev: boolean): IncludeSpec {
  const [sourceType = '', param = '', targetType] = value.split(':');
  const def = searchParamOf(sourceType, param);
  if (!def || def.type !== 'reference') throw bad(name, `${name}: "${value}" is not SourceType:referenceParameter[:TargetType]`);
  if (!rev && sourceType !== searchedType) throw bad(name, `${name}: ${sourceType} is not the searched type ${searchedType}`);
  if (targetType && !/^[A-Z][A-Za-z]+$/.test(targetType)) throw bad(name, `${name}: "${targetType}" is not a resource type`);
  return { sourceType, param, ...(targetType ? { targetType } : {}) };
}

/** Chain depth of a parameter name: the dots outside a `_has:` prefix. */
function chainTarget(type: string, name: string): { param: string; targetType: string; rest: string } {
  const dot = name.indexOf('.');
  const head = name.slice(0, dot);
  const [param = '', modifierType] = head.split(':');
  const def = searchParamOf(type, param);
  if (!def) throw unknown(type, name);
  if (def.type !== 'reference') throw bad(name, `${param} is not a reference parameter and cannot be chained`);
  const targets = modifierType ? [modifierType] : def.targets ?? [];
  if (targets.length !== 1) throw bad(name, `${param} may refer to several types; name one (${param}:Type.${name.slice(dot + 1)})`);
  return { param, targetType: targets[0]!, rest: name.slice(dot + 1) };
}

export function parseSearch(type: string, pairs: QueryPairs, limits: ApiLimits, depth = 0): ParsedSearch {
  if (pairs.length > limits.maxParameters) throw new HubError('API_QUERY_TOO_COSTLY', `at most ${limits.maxParameters} parameters per search`, { path: 'query', httpStatus: 400 });
  const parsed: ParsedSearch = {
    type, where: [], chains: [], has: [], sortBy: [], count: limits.defaultCount, offset: 0, total: 'accurate', include: [], revinclude: [], pairs,
  };
  const hasGroups = new Map<string, HasCriterion>();
  for (const [name, value] of pairs) {
    if (RESULT_PARAMS.has(name)) {
      applyResultParam(parsed, name, value, limits);
      continue;
    }
    if (name.startsWith('_has:')) {
      const [, refType = '', refParam = '', ...rest] = name.split(':');
      const innerName = rest.join(':');
      const def = searchParamOf(refType, refParam);
      if (!def || def.type !== 'reference' || !innerName) throw bad(name, `${name} is not _has:Type:referenceParameter:parameter`);
      if (depth + 1 > limits.maxChainDepth) throw bad(name, `chains and _has may nest at most ${limits.maxChainDepth} deep`);
      const key = `${refType}:${refParam}`;
      const group = hasGroups.get(key) ?? { type: refType, refParam, inner: [] };
      group.inner.push([innerName, value]);
      hasGroups.set(key, group);
      continue;
    }
    if (name.includes('.')) {
      const depthHere = name.split('.').length - 1;
      if (depth + depthHere > limits.maxChainDepth) throw bad(name, `chains may be at most ${limits.maxChainDepth} deep`);
      const { param, targetType, rest } = chainTarget(type, name);
      parsed.chains.push({ param, targetType, inner: [[rest, value]] });
      continue;
    }
    const [param = '', modifier] = name.split(':');
    const def = searchParamOf(type, param);
    if (!def) throw unknown(type, name);
    parsed.where.push(criterionFor(def, modifier, value, limits));
  }
  parsed.has = [...hasGroups.values()];
  if (parsed.include.length + parsed.revinclude.length > limits.maxIncludes) throw bad('_include', `at most ${limits.maxIncludes} _include and _revinclude parameters`);
  return parsed;
}

function applyResultParam(parsed: ParsedSearch, name: string, value: string, limits: ApiLimits): void {
  switch (name) {
    case '_count': parsed.count = integerParameter(name, value, 0, limits.maxCount); return;
    case '_offset': parsed.offset = integerParameter(name, value, 0, Number.MAX_SAFE_INTEGER); return;
    case '_total':
      if (value !== 'none' && value !== 'estimate' && value !== 'accurate') throw bad(name, '_total must be none, estimate or accurate');
      parsed.total = value; return;
    case '_sort':
      for (const key of value.split(',')) {
        const param = key.replace(/^-/, '');
        if (!searchParamOf(parsed.type, param)) throw bad(name, `_sort: "${param}" is not a search parameter of ${parsed.type}`);
        parsed.sortBy.push({ param, ...(key.startsWith('-') ? { descending: true } : {}) });
      }
      return;
    case '_include': case '_include:iterate': parsed.include.push(includeSpec(name, value, parsed.type, false)); return;
    case '_revinclude': case '_revinclude:iterate': parsed.revinclude.push(includeSpec(name, value, parsed.type, true)); return;
    case '_summary':
      if (!(SUMMARY_MODES as readonly string[]).includes(value)) throw bad(name, `_summary must be one of ${SUMMARY_MODES.join(', ')}`);
      parsed.summary = value as SummaryMode;
      if (value === 'count') parsed.count = 0;
      return;
    case '_elements': parsed.elements = value.split(',').map((e) => e.trim()).filter(Boolean); return;
    default: return; // _format and _pretty are handled by the response writer
  }
}

import { fhirDateRange } from './fhirDateRange.ts';
import type { IndexCriterion, IndexMatch, StoredResource } from './resourceStore.ts';
import { normalizeSearchString, valuesAtPath, type SearchIndex } from './searchIndex.ts';
import { LOOKUP_PARAMS, searchParamOf } from './searchParameterTable.ts';

/**
 * Which lookup documents (`<Type>|<param>|<value>`) a resource belongs to, and which ones a
 * search condition can be answered from. String parameters match by prefix (FHIR `name=`), so a
 * value is listed under each of its prefixes from MIN_PREFIX to MAX_PREFIX characters; a longer
 * query uses its MAX_PREFIX prefix and the candidates are checked exactly afterwards.
 */
export const MIN_PREFIX = 2;
export const MAX_PREFIX = 8;

const DATE_ONLY = /^(\d{4})(-\d{2})?(-\d{2})?/;

export function lookupKey(type: string, param: string, value: string): string {
  return `${type}|${param}|${value}`;
}

/** Code points, so a prefix never splits a character outside the basic plane. */
const chars = (text: string): string[] => Array.from(text);

/** A token entry `system|` names every resource of a system: never selective, never listed. */
const listedToken = (entry: string): boolean => !entry.endsWith('|');

export function lookupKeysOf(resource: StoredResource, index: SearchIndex): string[] {
  const type = resource.resourceType;
  const keys = new Set<string>();
  for (const param of LOOKUP_PARAMS[type] ?? []) {
    const def = searchParamOf(type, param);
    if (!def) continue;
    const entries = index[param];
    if (def.type === 'string' && Array.isArray(entries)) {
      for (const entry of entries) {
        const cs = chars(entry);
        for (let n = MIN_PREFIX; n <= Math.min(MAX_PREFIX, cs.length); n += 1) keys.add(lookupKey(type, param, cs.slice(0, n).join('')));
      }
    } else if (def.type === 'token' && Array.isArray(entries)) {
      for (const entry of entries) if (listedToken(entry)) keys.add(lookupKey(type, param, entry));
    } else if (def.type === 'date') {
      // year, month and day of the value as written: a date search is answered at those precisions
      for (const path of def.paths) {
        for (const v of valuesAtPath(resource, path)) {
          const m = typeof v === 'string' ? DATE_ONLY.exec(v) : null;
          if (!m) continue;
          keys.add(lookupKey(type, param, m[1]!));
          if (m[2]) keys.add(lookupKey(type, param, m[1]! + m[2]));
          if (m[2] && m[3]) keys.add(lookupKey(type, param, m[1]! + m[2] + m[3]));
        }
      }
    }
  }
  return [...keys];
}

/** The lookup documents whose union holds every match of one condition; `exact` when they hold nothing else. */
export interface LookupCondition {
  keys: string[];
  exact: boolean;
}

function dateText(m: Extract<IndexMatch, { kind: 'date' }>): string | undefined {
  if (m.prefix !== 'eq') return undefined;
  for (const len of [10, 7, 4]) {
    const text = m.range.lo.slice(0, len);
    const r = fhirDateRange(text);
    if (r && r.lo === m.range.lo && r.hi === m.range.hi) return text;
  }
  return undefined;
}

function keyFor(type: string, param: string, m: IndexMatch): { key: string; exact: boolean } | undefined {
  switch (m.kind) {
    case 'entry': return listedToken(m.value) ? { key: lookupKey(type, param, m.value), exact: true } : undefined;
    case 'string': {
      if (m.mode === 'contains') return undefined;
      const cs = chars(normalizeSearchString(m.value));
      if (cs.length < MIN_PREFIX) return undefined;
      return { key: lookupKey(type, param, cs.slice(0, MAX_PREFIX).join('')), exact: m.mode === 'prefix' && cs.length <= MAX_PREFIX };
    }
    case 'date': {
      const text = dateText(m);
      // values written with a time or an offset could fall on another day: checked afterwards
      return text ? { key: lookupKey(type, param, text), exact: false } : undefined;
    }
    case 'quantity': return undefined;
  }
}

/** How one condition can be answered from lookup documents, or undefined when it cannot. */
export function lookupConditionFor(type: string, c: IndexCriterion): LookupCondition | undefined {
  if (!(LOOKUP_PARAMS[type] ?? []).includes(c.param) || c.negate || c.missing !== undefined || !c.anyOf?.length) return undefined;
  const keys: string[] = [];
  let exact = true;
  for (const m of c.anyOf) {
    const k = keyFor(type, c.param, m);
    if (!k) return undefined;
    keys.push(k.key);
    exact &&= k.exact;
  }
  return { keys: [...new Set(keys)], exact };
}

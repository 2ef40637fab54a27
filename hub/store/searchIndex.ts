import type { Resource } from 'fhir/r4.js';
import { fhirDateRange, periodRange, type DateRange } from './fhirDateRange.ts';
import { searchParamsOf, type SearchParamDefinition } from './searchParameterTable.ts';

/**
 * The values a resource is found by, computed when it is written and stored beside it, so a
 * search is a plain field query (FerretDB has no expression indexes) and dates compare as
 * ranges in UTC whatever precision and offset the source sent.
 */
export interface QuantityEntry {
  value: number;
  system?: string;
  code?: string;
}

export type IndexEntry = string | DateRange | QuantityEntry;
/**
 * Token, reference and string parameters keep every entry; a date parameter keeps one range
 * (the hull of its values) and a quantity its first value, because FerretDB v1 cannot match two
 * fields of the same array element ($elemMatch on subdocuments), and the tables' date and
 * quantity elements occur once per resource.
 */
export type SearchIndex = Record<string, string[] | DateRange | QuantityEntry>;

/** Lower case without diacritics: FHIR string search is case- and accent-insensitive. */
export function normalizeSearchString(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().trim();
}

const REFERENCE = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

/** `Type/id` of a literal reference, whether relative, absolute or versioned. */
export function referenceKey(reference: string): string | undefined {
  const m = REFERENCE.exec(reference);
  return m ? `${m[1]}/${m[2]}` : undefined;
}

const STEP = /^([A-Za-z][A-Za-z0-9]*)(?:\[([A-Za-z]+)=([^\]]+)\])?$/;

/** Values at a dotted path, flattening repeats; `name[key=value]` keeps matching elements only. */
export function valuesAtPath(root: unknown, path: string): unknown[] {
  let current: unknown[] = [root];
  for (const step of path.split('.')) {
    const m = STEP.exec(step);
    if (!m) return [];
    const [, field, key, wanted] = m;
    const next: unknown[] = [];
    for (const node of current) {
      if (node === null || typeof node !== 'object') continue;
      const value = (node as Record<string, unknown>)[field!];
      for (const v of Array.isArray(value) ? value : [value]) {
        if (v === undefined || v === null) continue;
        if (key && (typeof v !== 'object' || (v as Record<string, unknown>)[key] !== wanted)) continue;
        next.push(v);
      }
    }
    current = next;
  }
  return current;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string' && x.length > 0);

function stringEntries(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (!isObj(v)) return [];
  // HumanName and Address: every part is searchable
  const parts = ['text', 'family', 'given', 'prefix', 'suffix', 'line', 'city', 'district', 'state', 'postalCode', 'country', 'name'];
  return parts.flatMap((k) => strings(v[k]));
}

function tokenEntries(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (typeof v === 'boolean') return [String(v)];
  if (!isObj(v)) return [];
  if (Array.isArray(v.coding) || typeof v.text === 'string') return (Array.isArray(v.coding) ? v.coding : []).flatMap(tokenEntries);
  const code = typeof v.code === 'string' ? v.code : typeof v.value === 'string' ? v.value : undefined;
  const system = typeof v.system === 'string' ? v.system : undefined;
  if (!code) return system ? [`${system}|`] : [];
  return system ? [code, `${system}|${code}`, `${system}|`] : [code, `|${code}`];
}

/** The instant ranges a date, dateTime, instant or Period covers. */
export function dateEntries(v: unknown): DateRange[] {
  if (typeof v === 'string') {
    const r = fhirDateRange(v);
    return r ? [r] : [];
  }
  if (isObj(v)) {
    const r = periodRange(typeof v.start === 'string' ? v.start : undefined, typeof v.end === 'string' ? v.end : undefined);
    return r ? [r] : [];
  }
  return [];
}

function referenceEntries(v: unknown, targets: string[] | undefined): string[] {
  if (!isObj(v) || typeof v.reference !== 'string') return [];
  const key = referenceKey(v.reference);
  if (!key) return [];
  return !targets || targets.includes(key.slice(0, key.indexOf('/'))) ? [key] : [];
}

function quantityEntries(v: unknown): QuantityEntry[] {
  if (!isObj(v) || typeof v.value !== 'number') return [];
  const code = typeof v.code === 'string' ? v.code : typeof v.unit === 'string' ? v.unit : undefined;
  return [{ value: v.value, ...(typeof v.system === 'string' ? { system: v.system } : {}), ...(code ? { code } : {}) }];
}

export function indexEntries(def: SearchParamDefinition, value: unknown): IndexEntry[] {
  switch (def.type) {
    case 'string': return stringEntries(value).map(normalizeSearchString).filter((s) => s.length > 0);
    case 'token': return tokenEntries(value);
    case 'date': return dateEntries(value);
    case 'reference': return referenceEntries(value, def.targets);
    case 'quantity': return quantityEntries(value);
  }
}

/** Every indexed parameter's entries for one resource; `_id` lives in the document key. */
export function searchIndexFor(resource: Resource): SearchIndex {
  const index: SearchIndex = {};
  for (const def of searchParamsOf(resource.resourceType)) {
    if (def.name === '_id') continue;
    const entries: IndexEntry[] = [];
    const seen = new Set<string>();
    for (const path of def.paths) {
      for (const value of valuesAtPath(resource, path)) {
        for (const e of indexEntries(def, value)) {
          const k = typeof e === 'string' ? e : JSON.stringify(e);
          if (!seen.has(k)) { seen.add(k); entries.push(e); }
        }
      }
    }
    if (entries.length === 0) continue;
    if (def.type === 'date') index[def.name] = hull(entries as DateRange[]);
    else if (def.type === 'quantity') index[def.name] = entries[0] as QuantityEntry;
    else index[def.name] = entries as string[];
  }
  return index;
}

function hull(ranges: DateRange[]): DateRange {
  let { lo, hi } = ranges[0]!;
  for (const r of ranges) {
    if (r.lo < lo) lo = r.lo;
    if (r.hi > hi) hi = r.hi;
  }
  return { lo, hi };
}

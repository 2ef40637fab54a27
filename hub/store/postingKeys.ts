import type { Resource } from 'fhir/r4.js';
import type { DateRange } from './fhirDateRange.ts';
import type { ComparisonPrefix, IndexCriterion, IndexMatch } from './resourceStore.ts';
import { dateEntries, normalizeSearchString, referenceKey, valuesAtPath } from './searchIndex.ts';
import { searchParamsOf, type SearchParamDefinition } from './searchParameterTable.ts';

/**
 * The inverted search index as document keys. Every value a resource is found by is one small
 * posting document whose `_id` is `<Type>|<family>|<value>|<resource id>`, so that a search
 * condition is one or a few `_id` ranges: exact and prefix strings, tokens, references and dates
 * by their sortable text. Both stores serve `_id` ranges from an index (MongoDB always; FerretDB
 * v1 with the build fixes in scripts/ferretdb-build), with sort, limit and count in the index;
 * nothing on a hot path reads a collection end to end. Pure functions; postingStore.ts reads and
 * writes the documents.
 */

/** Values longer than this many characters are indexed by their head; matches are then checked in memory. */
export const MAX_INDEXED_CHARS = 64;

/**
 * A date whose range is narrower than this is posted by its start only; wider ones (a year, an
 * open Period) also by their end, under `<param>>`, so `ge`/`gt`/`eb` find them by range too.
 */
export const NARROW_DATE_MS = 86_400_000;

/** Sorts after every character a key can hold (values are escaped so they never contain it). */
const TOP = '\u{10FFFF}';
const SEP = '|';

/** `|` separates the parts of a key, `%` escapes; prefixes of a value stay prefixes of its encoding. */
export function encodeKeyPart(text: string): string {
  return text.replace(/[%|\u{10FFFF}]/gu, (c) => (c === '%' ? '%25' : c === '|' ? '%7C' : '%FF'));
}

/** `[gte, lt)` over posting ids. */
export interface KeyRange {
  gte: string;
  lt: string;
}

const prefixRange = (prefix: string): KeyRange => ({ gte: prefix, lt: prefix + TOP });

/**
 * Parameters that read the same elements share one posting family: `patient` and `subject` of
 * an Observation (`patient` is `subject` narrowed to Patients), `actor`, `patient` and
 * `practitioner` of an Appointment. The family is posted once, with the widest targets.
 */
interface Family {
  name: string;
  def: SearchParamDefinition;
  /** parts of a HumanName/Address that other parameters post (`family`, `city`): not posted again here */
  skipParts?: Set<string>;
  /** families a query on this parameter also reads (those parts) */
  alsoFamilies?: string[];
  /** the family holds more than this parameter matches (`phone` read from `telecom`): matches are checked in memory */
  inexact?: boolean;
}

const familyCache = new Map<string, Map<string, Family>>();

/**
 * Parameters a type does not post: every API request writes an AuditEvent, and these few-valued
 * ones (or `_lastUpdated`, the same instant as `date`) would add postings to each without
 * narrowing a search; they are checked in memory on what `patient`, `agent` or `date` found.
 */
const UNPOSTED: Record<string, string[]> = { AuditEvent: ['_lastUpdated', '_tag', 'subtype', 'action', 'outcome'] };

function familiesOf(type: string): Map<string, Family> {
  let byParam = familyCache.get(type);
  if (byParam) return byParam;
  byParam = new Map();
  const groups = new Map<string, SearchParamDefinition[]>();
  for (const def of searchParamsOf(type)) {
    if (def.name === '_id' || def.type === 'quantity' || UNPOSTED[type]?.includes(def.name)) continue;
    const key = `${def.type}:${def.paths.join(',')}`;
    groups.set(key, [...(groups.get(key) ?? []), def]);
  }
  for (const members of groups.values()) {
    const widest = members.find((d) => !d.targets) ?? members[0]!;
    const targets = members.some((d) => !d.targets) ? undefined : [...new Set(members.flatMap((d) => d.targets ?? []))];
    const def: SearchParamDefinition = { ...widest, ...(targets ? { targets } : {}) };
    if (!targets) delete def.targets;
    const family: Family = { name: widest.name, def };
    for (const m of members) byParam.set(m.name, family);
  }
  shareParts(byParam);
  familyCache.set(type, byParam);
  return byParam;
}

const NARROWED = /^([A-Za-z]+)\[[A-Za-z]+=[^\]]+\]\.([A-Za-z.]+)$/;

/**
 * Fewer postings for the same answers: `name` (any part of a HumanName) reads `family` and
 * `given` from their own postings and posts only the other parts; `address` likewise with
 * city, state and postal code; `phone` and `email` (telecom narrowed by system) read the
 * `telecom` postings and check the system in memory.
 */
function shareParts(byParam: Map<string, Family>): void {
  const families = [...new Set(byParam.values())];
  for (const f of families) {
    if (f.def.type !== 'string' || f.def.paths.length !== 1) continue;
    const path = f.def.paths[0]!;
    const subs = families.filter((o) => o !== f && o.def.type === 'string' && o.def.paths.length === 1 && o.def.paths[0]!.startsWith(`${path}.`) && !o.def.paths[0]!.slice(path.length + 1).includes('.'));
    if (!subs.length) continue;
    f.skipParts = new Set(subs.map((o) => o.def.paths[0]!.slice(path.length + 1)));
    f.alsoFamilies = subs.map((o) => o.name);
  }
  for (const [param, f] of byParam) {
    const m = f.def.type === 'token' && f.def.paths.length === 1 ? NARROWED.exec(f.def.paths[0]!) : null;
    if (!m) continue;
    const wide = families.find((o) => o.def.type === 'token' && o.def.paths.length === 1 && o.def.paths[0] === `${m[1]}.${m[2]}`);
    if (wide) byParam.set(param, { ...wide, inexact: true });
  }
}

/** The posting family a search parameter is answered from, or undefined when it has none (quantity, `_id`). */
export function postingFamily(type: string, param: string): string | undefined {
  return familiesOf(type).get(param)?.name;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** (code, system) pairs of a token value: Coding, CodeableConcept, Identifier, ContactPoint, code, boolean. */
export function tokenPairs(v: unknown): Array<{ code: string; system?: string }> {
  if (typeof v === 'string') return v ? [{ code: v }] : [];
  if (typeof v === 'boolean') return [{ code: String(v) }];
  if (!isObj(v)) return [];
  if (Array.isArray(v.coding) || typeof v.text === 'string') return (Array.isArray(v.coding) ? v.coding : []).flatMap(tokenPairs);
  const code = typeof v.code === 'string' ? v.code : typeof v.value === 'string' ? v.value : undefined;
  if (!code) return [];
  return [{ code, ...(typeof v.system === 'string' && v.system ? { system: v.system } : {}) }];
}

const STRING_PARTS = ['text', 'family', 'given', 'prefix', 'suffix', 'line', 'city', 'district', 'state', 'postalCode', 'country', 'name'];

function stringParts(v: unknown, skip?: Set<string>): string[] {
  if (typeof v === 'string') return [v];
  if (!isObj(v)) return [];
  return STRING_PARTS.filter((k) => !skip?.has(k)).flatMap((k) => (Array.isArray(v[k]) ? v[k] : [v[k]])).filter((x): x is string => typeof x === 'string' && x.length > 0);
}


const head = (text: string): string => Array.from(text).slice(0, MAX_INDEXED_CHARS).join('');
const isWide = (r: DateRange): boolean => Date.parse(r.hi) - Date.parse(r.lo) >= NARROW_DATE_MS;

/**
 * With encryption at rest, the string and token values of the sealed types (Patient, ...) are
 * posted as keyed hashes instead of text (hub/crypto), so the index holds no name or number. A
 * hash matches only the whole value: a string search becomes an exact match of a whole
 * normalised part (family, given, line, city...), a token search an exact code. Token systems,
 * dates and references stay as they are. Without a hasher nothing changes.
 */
export interface PostingValueHasher {
  /** whether this type's string and token postings are hashed */
  hashes(type: string): boolean;
  /** the key part standing for a normalised string or a token code (no `|` or `%` in it) */
  hash(type: string, family: string, value: string): string;
}

type ValueHash = ((value: string) => string) | undefined;

function valueHashOf(hasher: PostingValueHasher | undefined, type: string, family: string): ValueHash {
  return hasher?.hashes(type) ? (value) => hasher.hash(type, family, value) : undefined;
}

/** The encoded values (everything between family and id) a family holds for a resource. */
function familyValues(family: Family, resource: Resource, hash: ValueHash): { values: Set<string>; ends: Set<string> } {
  const { def } = family;
  const values = new Set<string>();
  const ends = new Set<string>();
  for (const path of def.paths) {
    for (const v of valuesAtPath(resource, path)) {
      switch (def.type) {
        case 'string':
          for (const s of stringParts(v, family.skipParts)) {
            const n = normalizeSearchString(s);
            if (n) values.add(hash ? hash(n) : encodeKeyPart(head(n)));
          }
          break;
        case 'token':
          for (const t of tokenPairs(v)) values.add(`${hash ? hash(t.code) : encodeKeyPart(head(t.code))}${SEP}${encodeKeyPart(t.system ?? '')}`);
          break;
        case 'reference': {
          const key = isObj(v) && typeof v.reference === 'string' ? referenceKey(v.reference) : undefined;
          if (key && (!def.targets || def.targets.includes(key.slice(0, key.indexOf('/'))))) values.add(encodeKeyPart(key));
          break;
        }
        case 'date':
          for (const r of dateEntries(v)) {
            values.add(r.lo);
            if (isWide(r)) ends.add(r.hi);
          }
          break;
        default:
          break;
      }
    }
  }
  return { values, ends };
}

/** Every posting id of a resource (`<Type>|<family>|<value>|<id>`), sorted. */
export function postingIdsOf(resource: Resource & { id: string }, hasher?: PostingValueHasher): string[] {
  const type = resource.resourceType;
  const out = new Set<string>();
  const seen = new Set<string>();
  for (const family of familiesOf(type).values()) {
    if (seen.has(family.name)) continue;
    seen.add(family.name);
    const { values, ends } = familyValues(family, resource, valueHashOf(hasher, type, family.name));
    for (const v of values) out.add(`${type}${SEP}${family.name}${SEP}${v}${SEP}${resource.id}`);
    for (const v of ends) out.add(`${type}${SEP}${family.name}>${SEP}${v}${SEP}${resource.id}`);
  }
  return [...out].sort();
}

/** The resource id a posting id ends with. */
export function resourceIdOfPosting(postingId: string): string {
  return postingId.slice(postingId.lastIndexOf(SEP) + 1);
}

/**
 * The posting ranges whose union holds every resource matching one criterion, and whether every
 * posting in them is a match (`exact`), so the matches need no check in memory. Undefined when
 * the criterion cannot be answered from postings (`:missing`, `:not`, `:contains`, `ne`,
 * quantities, a token `system|` without code): such a criterion only filters candidates found
 * by another one.
 */
export interface CriterionRanges {
  ranges: KeyRange[];
  exact: boolean;
}

export function criterionRanges(type: string, c: IndexCriterion, hasher?: PostingValueHasher): CriterionRanges | undefined {
  if (c.param === '_id' || c.missing !== undefined || c.negate || !c.anyOf?.length) return undefined;
  const family = familiesOf(type).get(c.param);
  if (!family) return undefined;
  const ranges: KeyRange[] = [];
  let exact = !family.inexact;
  for (const name of [family.name, ...(family.alsoFamilies ?? [])]) {
    const base = `${type}${SEP}${name}${SEP}`;
    const hash = valueHashOf(hasher, type, name);
    for (const m of c.anyOf) {
      const r = matchRanges(base, `${type}${SEP}${name}>${SEP}`, family.def, m, hash);
      if (!r) return undefined;
      ranges.push(...r.ranges);
      exact &&= r.exact;
    }
  }
  return { ranges: mergeRanges(ranges), exact };
}

function matchRanges(base: string, endBase: string, def: SearchParamDefinition, m: IndexMatch, hash: ValueHash): CriterionRanges | undefined {
  switch (m.kind) {
    case 'string': {
      if (m.mode === 'contains') return undefined;
      const v = normalizeSearchString(m.value);
      if (!v) return undefined;
      // a hashed value is found whole: a prefix search finds the parts equal to it
      if (hash) return { ranges: [prefixRange(`${base}${hash(v)}${SEP}`)], exact: true };
      const indexed = head(v);
      const truncated = indexed !== v;
      // an exact value is followed by the separator; a prefix by anything
      return m.mode === 'exact' && !truncated
        ? { ranges: [prefixRange(`${base}${encodeKeyPart(v)}${SEP}`)], exact: true }
        : { ranges: [prefixRange(`${base}${encodeKeyPart(indexed)}`)], exact: !truncated && m.mode === 'prefix' };
    }
    case 'entry': {
      if (def.type === 'reference') return { ranges: [prefixRange(`${base}${encodeKeyPart(m.value)}${SEP}`)], exact: true };
      if (def.type !== 'token') return undefined;
      const bar = m.value.indexOf('|');
      if (hash) {
        const code = bar < 0 ? m.value : m.value.slice(bar + 1);
        if (!code) return undefined;
        const system = bar < 0 ? '' : `${encodeKeyPart(m.value.slice(0, bar))}${SEP}`;
        return { ranges: [prefixRange(`${base}${hash(code)}${SEP}${system}`)], exact: true };
      }
      if (bar < 0) return { ranges: [prefixRange(`${base}${encodeKeyPart(head(m.value))}${SEP}`)], exact: head(m.value) === m.value };
      const system = m.value.slice(0, bar);
      const code = m.value.slice(bar + 1);
      if (!code) return undefined; // `system|`: every code of a system is never selective enough to post
      return { ranges: [prefixRange(`${base}${encodeKeyPart(head(code))}${SEP}${encodeKeyPart(system)}${SEP}`)], exact: head(code) === code };
    }
    case 'date':
      return dateMatchRanges(base, endBase, m.prefix, m.range);
    case 'quantity':
      return undefined;
  }
}

/** Start postings with `lo` in [a, b] (either end open), as a key range. */
function startsBetween(base: string, a: string | undefined, b: string | undefined, aOpen = false, bOpen = false): KeyRange {
  return {
    gte: a === undefined ? base : aOpen ? `${base}${a}${SEP}${TOP}` : `${base}${a}`,
    lt: b === undefined ? base + TOP : bOpen ? `${base}${b}` : `${base}${b}${SEP}${TOP}`,
  };
}

const minus = (iso: string, ms: number): string => {
  const t = Date.parse(iso) - ms;
  return t <= Date.UTC(1, 0, 1) ? '0001-01-01T00:00:00.000Z' : new Date(t).toISOString();
};

/**
 * FHIR date comparisons (searchIndexMatch.ts's dateHolds gives the meaning of each prefix)
 * over start postings, and end postings for wide values. Conditions on the end of a narrow
 * value become a start range widened by NARROW_DATE_MS and are checked in memory.
 */
function dateMatchRanges(base: string, endBase: string, prefix: ComparisonPrefix, q: DateRange): CriterionRanges | undefined {
  switch (prefix) {
    case 'eq': return { ranges: [startsBetween(base, q.lo, q.hi)], exact: false };
    case 'lt': return { ranges: [startsBetween(base, undefined, q.lo, false, true)], exact: true };
    case 'le': return { ranges: [startsBetween(base, undefined, q.hi)], exact: true };
    case 'sa': return { ranges: [startsBetween(base, q.hi, undefined, true)], exact: true };
    case 'gt': return { ranges: [startsBetween(base, minus(q.hi, NARROW_DATE_MS), undefined, true), startsBetween(endBase, q.hi, undefined, true)], exact: false };
    case 'ge': return { ranges: [startsBetween(base, minus(q.lo, NARROW_DATE_MS), undefined), startsBetween(endBase, q.lo, undefined)], exact: false };
    case 'eb': return { ranges: [startsBetween(base, undefined, q.lo, false, true)], exact: false };
    case 'ap': return { ranges: [startsBetween(base, minus(q.lo, NARROW_DATE_MS), q.hi), startsBetween(endBase, q.lo, undefined)], exact: false };
    case 'ne': return undefined;
  }
}

/** Sorted, overlapping ranges joined, so no posting is read twice. */
export function mergeRanges(ranges: KeyRange[]): KeyRange[] {
  const sorted = [...ranges].sort((a, b) => compareKeys(a.gte, b.gte));
  const out: KeyRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && compareKeys(r.gte, last.lt) <= 0) {
      if (compareKeys(r.lt, last.lt) > 0) last.lt = r.lt;
    } else out.push({ ...r });
  }
  return out;
}

/** The databases' order for keys: UTF-8 bytes (JavaScript's `<` compares UTF-16 units, which differs past U+FFFF). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

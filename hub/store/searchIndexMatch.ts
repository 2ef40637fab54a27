import type { DateRange } from './fhirDateRange.ts';
import type { ComparisonPrefix, IndexCriterion, IndexMatch } from './resourceStore.ts';
import { normalizeSearchString, type QuantityEntry, type SearchIndex } from './searchIndex.ts';

/**
 * Search criteria and sort order evaluated in memory on a resource's search entries
 * (searchIndex.ts): what the posting index cannot decide by itself (postingSearch.ts), with the
 * FHIR meaning of each prefix and modifier.
 */
export interface IndexedDoc {
  _id: string;
  search?: SearchIndex;
  sortKey?: Record<string, string | number>;
}

function dateHolds(r: DateRange, prefix: ComparisonPrefix, q: DateRange): boolean {
  switch (prefix) {
    case 'eq': case 'ne': return r.lo >= q.lo && r.hi <= q.hi;
    case 'gt': return r.hi > q.hi;
    case 'lt': return r.lo < q.lo;
    case 'ge': return r.hi >= q.lo;
    case 'le': return r.lo <= q.hi;
    case 'sa': return r.lo > q.hi;
    case 'eb': return r.hi < q.lo;
    case 'ap': return r.lo <= q.hi && r.hi >= q.lo;
  }
}

function quantityHolds(e: QuantityEntry, m: Extract<IndexMatch, { kind: 'quantity' }>): boolean {
  if (m.system && e.system !== m.system) return false;
  if (m.code && e.code !== m.code) return false;
  const half = 0.5 * 10 ** -m.decimals * (m.prefix === 'ap' ? 20 : 1);
  switch (m.prefix) {
    case 'eq': case 'ne': case 'ap': return e.value >= m.value - half && e.value < m.value + half;
    case 'gt': case 'sa': return e.value > m.value;
    case 'lt': case 'eb': return e.value < m.value;
    case 'ge': return e.value >= m.value;
    case 'le': return e.value <= m.value;
  }
}

const isRange = (v: unknown): v is DateRange => typeof v === 'object' && v !== null && 'lo' in v;
const isQuantity = (v: unknown): v is QuantityEntry => typeof v === 'object' && v !== null && 'value' in v;

function alternativeHolds(values: unknown, m: IndexMatch): boolean {
  const list = Array.isArray(values) ? values.filter((v): v is string => typeof v === 'string') : [];
  switch (m.kind) {
    case 'entry': return list.includes(m.value);
    case 'string': {
      const v = normalizeSearchString(m.value);
      return list.some((e) => (m.mode === 'exact' ? e === v : m.mode === 'prefix' ? e.startsWith(v) : e.includes(v)));
    }
    case 'date': {
      // a missing value fails the condition, so `ne` (its negation) holds, as $nor does
      const held = isRange(values) && dateHolds(values, m.prefix, m.range);
      return m.prefix === 'ne' ? !held : held;
    }
    case 'quantity': {
      const held = isQuantity(values) && quantityHolds(values, m);
      return m.prefix === 'ne' ? !held : held;
    }
  }
}

export function criterionHolds(doc: IndexedDoc, c: IndexCriterion): boolean {
  const values: unknown = c.param === '_id' ? [doc._id] : doc.search?.[c.param];
  if (c.missing !== undefined) return (values === undefined) === c.missing;
  const alternatives = c.anyOf ?? [];
  if (c.negate) {
    const list = Array.isArray(values) ? values : [];
    return !alternatives.some((m) => m.kind === 'entry' && list.includes(m.value));
  }
  return alternatives.some((m) => alternativeHolds(values, m));
}

export function allHold(doc: IndexedDoc, where: IndexCriterion[]): boolean {
  return where.every((c) => criterionHolds(doc, c));
}

/** The smallest entry per parameter, so sorting never depends on how arrays sort. */
export function sortKeysFor(index: SearchIndex): Record<string, string | number> {
  const keys: Record<string, string | number> = {};
  for (const [param, entries] of Object.entries(index)) {
    if (!Array.isArray(entries)) {
      keys[param] = 'lo' in entries ? entries.lo : entries.value;
      continue;
    }
    let best: string | undefined;
    for (const e of entries) if (best === undefined || e < best) best = e;
    if (best !== undefined) keys[param] = best;
  }
  return keys;
}

/** BSON order for what sort keys hold: missing, then numbers, then strings. */
function compareKeys(a: string | number | undefined, b: string | number | undefined): number {
  const rank = (v: unknown): number => (v === undefined ? 0 : typeof v === 'number' ? 1 : 2);
  if (rank(a) !== rank(b)) return rank(a) - rank(b);
  if (a === undefined || b === undefined || a === b) return 0;
  return a < b ? -1 : 1;
}

/** The order the database query sorts in: each parameter's sort key, then the id ascending. */
export function compareForSort(sortBy: Array<{ param: string; descending?: boolean }>) {
  return (a: IndexedDoc, b: IndexedDoc): number => {
    for (const s of sortBy) {
      const c = s.param === '_id' ? compareKeys(a._id, b._id) : compareKeys(a.sortKey?.[s.param], b.sortKey?.[s.param]);
      if (c !== 0) return s.descending ? -c : c;
    }
    return a._id < b._id ? -1 : a._id > b._id ? 1 : 0;
  };
}

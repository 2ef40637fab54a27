import type { Document, Filter } from 'mongodb';
import type { DateRange } from './fhirDateRange.ts';
import type { ComparisonPrefix, IndexCriterion, IndexMatch } from './resourceStore.ts';
import type { SearchIndex } from './searchIndex.ts';
import { normalizeSearchString } from './searchIndex.ts';

/**
 * Index criteria as MongoDB filters over the `search` entries a document carries. Only plain
 * field matches, `$in`, `$regex`, `$elemMatch`, `$or`/`$nor` and `$exists`: what FerretDB v1
 * and MongoDB both run.
 */
function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function dateCondition(field: string, prefix: ComparisonPrefix, r: DateRange): Document {
  const lo = `${field}.lo`;
  const hi = `${field}.hi`;
  switch (prefix) {
    case 'eq': case 'ne': return { [lo]: { $gte: r.lo }, [hi]: { $lte: r.hi } }; // ne is negated by the caller
    case 'gt': return { [hi]: { $gt: r.hi } };
    case 'lt': return { [lo]: { $lt: r.lo } };
    case 'ge': return { [hi]: { $gte: r.lo } };
    case 'le': return { [lo]: { $lte: r.hi } };
    case 'sa': return { [lo]: { $gt: r.hi } };
    case 'eb': return { [hi]: { $lt: r.lo } };
    case 'ap': return { [lo]: { $lte: r.hi }, [hi]: { $gte: r.lo } };
  }
}

function quantityCondition(field: string, m: Extract<IndexMatch, { kind: 'quantity' }>): Document {
  const half = 0.5 * 10 ** -m.decimals;
  const value = ((): Document => {
    switch (m.prefix) {
      case 'eq': case 'ne': case 'ap': return { $gte: m.value - half * (m.prefix === 'ap' ? 20 : 1), $lt: m.value + half * (m.prefix === 'ap' ? 20 : 1) };
      case 'gt': case 'sa': return { $gt: m.value };
      case 'lt': case 'eb': return { $lt: m.value };
      case 'ge': return { $gte: m.value };
      case 'le': return { $lte: m.value };
    }
  })();
  return { [`${field}.value`]: value, ...(m.system ? { [`${field}.system`]: m.system } : {}), ...(m.code ? { [`${field}.code`]: m.code } : {}) };
}

function matchFilter(field: string, m: IndexMatch): Filter<Document> {
  switch (m.kind) {
    case 'entry': return { [field]: m.value };
    case 'string': {
      const v = normalizeSearchString(m.value);
      if (m.mode === 'exact') return { [field]: v };
      return { [field]: { $regex: m.mode === 'prefix' ? `^${escapeRegex(v)}` : escapeRegex(v) } };
    }
    case 'date': {
      const cond = dateCondition(field, m.prefix, m.range);
      return m.prefix === 'ne' ? { $nor: [cond] } : cond;
    }
    case 'quantity': {
      const cond = quantityCondition(field, m);
      return m.prefix === 'ne' ? { $nor: [cond] } : cond;
    }
  }
}

export function indexFilter(c: IndexCriterion): Filter<Document> {
  const field = c.param === '_id' ? '_id' : `search.${c.param}`;
  if (c.missing !== undefined) return { [field]: { $exists: !c.missing } };
  const alternatives = c.anyOf ?? [];
  const entries = alternatives.filter((m): m is Extract<IndexMatch, { kind: 'entry' }> => m.kind === 'entry').map((m) => m.value);
  if (c.negate) return { [field]: { $nin: entries } };
  const others = alternatives.filter((m) => m.kind !== 'entry').map((m) => matchFilter(field, m));
  const parts: Filter<Document>[] = [];
  if (entries.length === 1) parts.push({ [field]: entries[0] });
  else if (entries.length > 1) parts.push({ [field]: { $in: entries } });
  parts.push(...others);
  if (parts.length === 0) return { _id: { $exists: false } }; // no alternatives: nothing matches
  return parts.length === 1 ? parts[0]! : { $or: parts };
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

export function sortSpec(sortBy: Array<{ param: string; descending?: boolean }>): Record<string, 1 | -1> {
  const spec: Record<string, 1 | -1> = {};
  for (const s of sortBy) spec[s.param === '_id' ? '_id' : `sortKey.${s.param}`] = s.descending ? -1 : 1;
  return spec;
}

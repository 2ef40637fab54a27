import { HubError } from '../hub/core/hubError.ts';
import type { PatientIndexReader } from '../hub/mpi/patientIndexReader.ts';
import type { IndexCriterion, IndexMatch, ResourceStore, SearchQuery, StoredResource } from '../hub/store/resourceStore.ts';
import { searchIndexFor } from '../hub/store/searchIndex.ts';
import type { ApiLimits } from './apiLimits.ts';
import { parseSearch, type ParsedSearch } from './searchRequest.ts';

/**
 * Runs a parsed search: chains and _has become id lists from searches of their own (two
 * queries instead of a join, which FerretDB lacks), references to a golden Patient widen to
 * its source Patients, then the page, its total and its included resources.
 */
export interface SearchContext {
  store: ResourceStore;
  patients: PatientIndexReader;
  limits: ApiLimits;
}

export interface SearchOutcome {
  matches: StoredResource[];
  included: StoredResource[];
  total?: number;
}

const entry = (value: string): IndexMatch => ({ kind: 'entry', value });

function tooCostly(what: string, limit: number): HubError {
  return new HubError('API_SEARCH_TOO_COSTLY', `${what} matches more than ${limit} resources; narrow it`, { path: what, httpStatus: 422 });
}

/** `Patient/{golden}` also matches what refers to any of the golden record's sources. */
export async function widenToSources(patients: PatientIndexReader, references: string[]): Promise<string[]> {
  const out = new Set(references);
  for (const ref of references) {
    if (!ref.startsWith('Patient/')) continue;
    for (const source of await patients.sourcesOf(ref.slice('Patient/'.length))) out.add(`Patient/${source}`);
  }
  return [...out];
}

async function widenCriterion(ctx: SearchContext, c: IndexCriterion): Promise<IndexCriterion> {
  if (!c.anyOf || c.negate) return c;
  const refs = c.anyOf.filter((m) => m.kind === 'entry' && m.value.startsWith('Patient/')).map((m) => (m as { value: string }).value);
  if (refs.length === 0) return c;
  const widened = await widenToSources(ctx.patients, refs);
  const known = new Set(c.anyOf.filter((m) => m.kind === 'entry').map((m) => (m as { value: string }).value));
  return { ...c, anyOf: [...c.anyOf, ...widened.filter((r) => !known.has(r)).map(entry)] };
}

async function matchingIds(ctx: SearchContext, parsed: ParsedSearch, depth: number, what: string): Promise<string[]> {
  const query: SearchQuery = { criteria: [], where: await conditionsOf(ctx, parsed, depth) };
  const ids = await ctx.store.entriesOf(parsed.type, query, '_id', ctx.limits.maxIntermediateMatches + 1);
  if (ids.length > ctx.limits.maxIntermediateMatches) throw tooCostly(what, ctx.limits.maxIntermediateMatches);
  return ids;
}

/** Every condition of the search as store criteria, resolving chains and _has first. */
export async function conditionsOf(ctx: SearchContext, parsed: ParsedSearch, depth = 0): Promise<IndexCriterion[]> {
  const where: IndexCriterion[] = [];
  for (const c of parsed.where) where.push(await widenCriterion(ctx, c));
  for (const chain of parsed.chains) {
    const inner = parseSearch(chain.targetType, chain.inner, ctx.limits, depth + 1);
    const ids = await matchingIds(ctx, inner, depth + 1, `${chain.param}:${chain.targetType}.${chain.inner[0]?.[0] ?? ''}`);
    where.push(await widenCriterion(ctx, { param: chain.param, anyOf: ids.map((id) => entry(`${chain.targetType}/${id}`)) }));
  }
  for (const has of parsed.has) {
    const inner = parseSearch(has.type, has.inner, ctx.limits, depth + 1);
    const what = `_has:${has.type}:${has.refParam}`;
    const query: SearchQuery = { criteria: [], where: await conditionsOf(ctx, inner, depth + 1) };
    const refs = await ctx.store.entriesOf(has.type, query, has.refParam, ctx.limits.maxIntermediateMatches + 1);
    if (refs.length > ctx.limits.maxIntermediateMatches) throw tooCostly(what, ctx.limits.maxIntermediateMatches);
    const prefix = `${parsed.type}/`;
    const ids = new Set(refs.filter((r) => r.startsWith(prefix)).map((r) => r.slice(prefix.length)));
    if (parsed.type === 'Patient') {
      // the golden record of a referenced source Patient has it too (filter with _tag for goldens only)
      for (const id of [...ids]) {
        const golden = await ctx.patients.goldenOf(id);
        if (golden) ids.add(golden);
      }
    }
    where.push({ param: '_id', anyOf: [...ids].map(entry) });
  }
  return where;
}

function referencesFrom(resource: StoredResource, param: string, targetType: string | undefined): string[] {
  const entries = searchIndexFor(resource)[param];
  return (Array.isArray(entries) ? entries : []).filter((e) => !targetType || e.startsWith(`${targetType}/`));
}

async function includedResources(ctx: SearchContext, parsed: ParsedSearch, matches: StoredResource[]): Promise<StoredResource[]> {
  const seen = new Set(matches.map((r) => `${r.resourceType}/${r.id}`));
  const out: StoredResource[] = [];
  const add = (r: StoredResource): void => {
    const key = `${r.resourceType}/${r.id}`;
    if (seen.has(key) || out.length >= ctx.limits.maxIncludedResources) return;
    seen.add(key);
    out.push(r);
  };
  for (const inc of parsed.include) {
    const byType = new Map<string, string[]>();
    for (const m of matches) {
      for (const ref of referencesFrom(m, inc.param, inc.targetType)) {
        const [t = '', id = ''] = ref.split('/');
        byType.set(t, [...(byType.get(t) ?? []), id]);
      }
    }
    for (const [t, ids] of byType) for (const r of await ctx.store.readMany(t, ids)) add(r);
  }
  for (const rev of parsed.revinclude) {
    if (matches.length === 0) break;
    const refs = await widenToSources(ctx.patients, matches.map((m) => `${m.resourceType}/${m.id}`));
    const found = await ctx.store.search(rev.sourceType, {
      criteria: [], where: [{ param: rev.param, anyOf: refs.map(entry) }], count: ctx.limits.maxIncludedResources,
    });
    for (const r of found.resources) add(r);
  }
  return out;
}

export async function executeSearch(ctx: SearchContext, parsed: ParsedSearch): Promise<SearchOutcome> {
  const where = await conditionsOf(ctx, parsed);
  const result = await ctx.store.search(parsed.type, {
    criteria: [], where, sortBy: parsed.sortBy, offset: parsed.offset, count: parsed.count, total: parsed.total !== 'none',
  });
  const included = await includedResources(ctx, parsed, result.resources);
  return { matches: result.resources, included, ...(result.total !== undefined ? { total: result.total } : {}) };
}

import type { Bundle, BundleEntry, BundleLink, Resource } from 'fhir/r4.js';
import type { StoredResource } from '../hub/store/resourceStore.ts';
import { viewOf } from './resourceView.ts';
import type { QueryPairs, SummaryMode } from './searchRequest.ts';

/**
 * A searchset page with links that reproduce it: every parameter the client sent is kept and
 * only `_offset`/`_count` change, so following `next` from any page walks the same result
 * (ordered with an id tie-break by the store).
 */
export interface PageRequest {
  /** URL of the search without a query, e.g. `http://host/fhir/Patient` */
  url: string;
  pairs: QueryPairs;
  offset: number;
  count: number;
}

function pageUrl(page: PageRequest, offset: number): string {
  const params = new URLSearchParams(page.pairs.filter(([k]) => k !== '_offset' && k !== '_count'));
  params.append('_count', String(page.count));
  params.append('_offset', String(offset));
  return `${page.url}?${params.toString()}`;
}

export function pageLinks(page: PageRequest, returned: number, total: number | undefined): BundleLink[] {
  const links: BundleLink[] = [{ relation: 'self', url: pageUrl(page, page.offset) }];
  if (page.count === 0) return links;
  links.push({ relation: 'first', url: pageUrl(page, 0) });
  if (page.offset > 0) links.push({ relation: 'previous', url: pageUrl(page, Math.max(0, page.offset - page.count)) });
  const more = total !== undefined ? page.offset + returned < total : returned === page.count;
  if (more) links.push({ relation: 'next', url: pageUrl(page, page.offset + page.count) });
  if (total !== undefined && total > 0) links.push({ relation: 'last', url: pageUrl(page, Math.floor((total - 1) / page.count) * page.count) });
  return links;
}

export interface BundleParts {
  base: string;
  page: PageRequest;
  matches: StoredResource[];
  included: StoredResource[];
  total?: number;
  summary?: SummaryMode;
  elements?: string[];
}

export function searchsetBundle(parts: BundleParts): Bundle {
  const entry = (r: Resource, mode: 'match' | 'include'): BundleEntry => ({
    fullUrl: `${parts.base}/${r.resourceType}/${r.id}`,
    resource: mode === 'match' ? viewOf(r, parts.summary, parts.elements) : r,
    search: { mode },
  });
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    ...(parts.total !== undefined ? { total: parts.total } : {}),
    link: pageLinks(parts.page, parts.matches.length, parts.total),
    entry: [...parts.matches.map((r) => entry(r, 'match')), ...parts.included.map((r) => entry(r, 'include'))],
  };
}

import type { Bundle, BundleEntry } from 'fhir/r4.js';
import type { StoredResource } from '../hub/store/resourceStore.ts';
import { pageLinks, type PageRequest } from './searchBundle.ts';

/**
 * A `history` Bundle page. Writes come from the feeds, so each entry's request is the
 * equivalent REST interaction: version 1 a create (POST), later versions an update (PUT).
 */

/** The weak ETag of a version: read headers and history entries must agree on it. */
export function versionEtag(r: StoredResource): string {
  return `W/"${r.meta?.versionId ?? '1'}"`;
}

function historyEntry(base: string, r: StoredResource): BundleEntry {
  const created = r.meta?.versionId === '1';
  return {
    fullUrl: `${base}/${r.resourceType}/${r.id}`,
    resource: r,
    request: { method: created ? 'POST' : 'PUT', url: created ? r.resourceType : `${r.resourceType}/${r.id}` },
    response: {
      status: created ? '201 Created' : '200 OK',
      etag: versionEtag(r),
      ...(r.meta?.lastUpdated ? { lastModified: r.meta.lastUpdated } : {}),
    },
  };
}

export interface HistoryBundleParts {
  base: string;
  page: PageRequest;
  versions: StoredResource[];
  total?: number;
}

export function historyBundle(parts: HistoryBundleParts): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'history',
    ...(parts.total !== undefined ? { total: parts.total } : {}),
    link: pageLinks(parts.page, parts.versions.length, parts.total),
    entry: parts.versions.map((r) => historyEntry(parts.base, r)),
  };
}

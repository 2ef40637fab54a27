import { Client, type FhirResource } from 'fhir-kit-client';
import { HubError } from '../../hub/core/hubError.ts';

export type JsonObject = Record<string, unknown>;

export interface UpstreamSettings {
  baseUrl: string;
  /** `Authorization` header value, when the upstream wants one */
  authorization?: string;
  timeoutMs: number;
  pageSize: number;
}

/** One page of a search: the resources it matched (not `_include`s or OperationOutcomes). */
export interface SearchPage {
  resources: JsonObject[];
  /** the page's position in this search, from 1 */
  number: number;
  /** the upstream has a `next` page after this one */
  more: boolean;
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Searches an upstream FHIR server for what changed since a watermark, oldest first, following
 * `next` links. Every failure (HTTP status, timeout, network, not a searchset) surfaces as a
 * HubError `FHIR_UPSTREAM_*` naming the URL, never as an unhandled rejection.
 */
export class UpstreamSearch {
  private readonly client: Client;

  constructor(private readonly settings: UpstreamSettings) {
    this.client = new Client({
      baseUrl: settings.baseUrl,
      customHeaders: settings.authorization ? { authorization: settings.authorization } : {},
    });
  }

  /** Pages of `type` last updated at or after `since` (everything without it), at most `maxPages`; `extra` narrows the search. */
  async *changedSince(type: string, since: string | undefined, maxPages: number, abort: AbortSignal, extra: Record<string, string> = {}): AsyncGenerator<SearchPage> {
    const searchParams: Record<string, string | number> = { ...extra, _sort: '_lastUpdated', _count: this.settings.pageSize };
    if (since) searchParams._lastUpdated = `ge${since}`;
    let bundle = await this.call(`${this.settings.baseUrl.replace(/\/$/, '')}/${type}?${new URLSearchParams(Object.entries(searchParams).map(([k, v]): [string, string] => [k, String(v)])).toString()}`, abort,
      (options) => this.client.search({ resourceType: type, searchParams, options }));
    for (let number = 1; ; number += 1) {
      const next = nextLinkOf(bundle);
      yield { number, resources: matchesOf(bundle, type), more: next !== undefined };
      if (!next || number >= maxPages) return;
      bundle = await this.call(next.url, abort, (options) => this.client.nextPage({ bundle: { resourceType: 'Bundle', link: [next] }, options })!);
    }
  }

  private async call(what: string, abort: AbortSignal, request: (options: { signal: AbortSignal }) => Promise<FhirResource>): Promise<JsonObject> {
    const signal = AbortSignal.any([abort, AbortSignal.timeout(this.settings.timeoutMs)]);
    let result: FhirResource;
    try {
      result = await request({ signal });
    } catch (err) {
      throw upstreamError(err, what, this.settings);
    }
    if (result.resourceType !== 'Bundle') {
      throw new HubError('FHIR_UPSTREAM_INVALID', `upstream answered ${what} with a ${String(result.resourceType)}, not a searchset Bundle`, { url: what });
    }
    return result;
  }
}

function nextLinkOf(bundle: JsonObject): { relation: string; url: string } | undefined {
  const links = Array.isArray(bundle.link) ? bundle.link.filter(isObject) : [];
  const next = links.find((l) => l.relation === 'next' && typeof l.url === 'string' && l.url !== '');
  return next ? { relation: 'next', url: next.url as string } : undefined;
}

function matchesOf(bundle: JsonObject, type: string): JsonObject[] {
  const entries = Array.isArray(bundle.entry) ? bundle.entry.filter(isObject) : [];
  return entries
    .filter((e) => !isObject(e.search) || e.search.mode === undefined || e.search.mode === 'match')
    .map((e) => e.resource)
    .filter((r): r is JsonObject => isObject(r) && r.resourceType === type);
}

function upstreamError(err: unknown, what: string, settings: UpstreamSettings): HubError {
  const e = err as { name?: string; message?: string; response?: { status?: number; data?: unknown } };
  if (e.name === 'TimeoutError') {
    return new HubError('FHIR_UPSTREAM_TIMEOUT', `upstream did not answer ${what} within ${settings.timeoutMs} ms`, { url: what });
  }
  if (e.name === 'AbortError') return new HubError('FHIR_UPSTREAM_ABORTED', `request ${what} was cancelled (connector stopping)`, { url: what });
  const status = e.response?.status;
  if (typeof status === 'number') {
    const issue = isObject(e.response?.data) && Array.isArray(e.response.data.issue) && isObject(e.response.data.issue[0]) ? e.response.data.issue[0].diagnostics : undefined;
    return new HubError(status === 401 || status === 403 ? 'FHIR_UPSTREAM_UNAUTHORIZED' : 'FHIR_UPSTREAM_FAILED',
      `upstream answered ${what} with HTTP ${status}${typeof issue === 'string' ? `: ${issue.slice(0, 300)}` : ''}`, { url: what, status });
  }
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return new HubError('FHIR_UPSTREAM_UNREACHABLE', `cannot reach the upstream for ${what}: ${cause?.code ?? cause?.message ?? e.message ?? String(err)}`, { url: what });
}

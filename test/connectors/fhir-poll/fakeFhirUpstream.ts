import type { Server } from 'node:http';
import express, { type Request, type Response } from 'express';

type Json = Record<string, unknown>;

/**
 * A test double of a remote third-party FHIR server (not of anything of ours): type-level
 * search with `_lastUpdated=geX`, `_sort=_lastUpdated`, `_count`, and `next` links carrying an
 * offset. It can fail, stall or ignore `_sort` on demand, and records every request.
 */
export class FakeFhirUpstream {
  private readonly byType = new Map<string, Json[]>();
  readonly requests: Array<{ path: string; query: Record<string, string>; authorization?: string }> = [];
  /** the next n searches answer 500 */
  failNext = 0;
  delayMs = 0;
  ignoreSort = false;
  private server: Server | undefined;
  private clock = Date.parse('2026-03-01T08:00:00.000Z');
  baseUrl = '';

  /** Stores (or updates) a resource, stamping meta.versionId and meta.lastUpdated. */
  put(resource: Json, lastUpdated?: string): Json {
    const type = resource.resourceType as string;
    const list = this.byType.get(type) ?? [];
    const previous = list.find((r) => r.id === resource.id);
    const version = previous ? Number((previous.meta as Json).versionId) + 1 : 1;
    this.clock += 1000;
    const stored = { ...resource, meta: { versionId: String(version), lastUpdated: lastUpdated ?? new Date(this.clock).toISOString().replace('Z', '+00:00') } };
    this.byType.set(type, [...list.filter((r) => r.id !== resource.id), stored]);
    return stored;
  }

  async start(): Promise<string> {
    const app = express();
    app.get('/fhir/:type', (req, res) => void this.search(req, res));
    await new Promise<void>((resolve) => { this.server = app.listen(0, '127.0.0.1', () => resolve()); });
    const address = this.server!.address() as { port: number };
    this.baseUrl = `http://127.0.0.1:${address.port}/fhir`;
    return this.baseUrl;
  }

  private async search(req: Request, res: Response): Promise<void> {
    const query = Object.fromEntries(Object.entries(req.query).map(([k, v]) => [k, String(v)]));
    this.requests.push({ path: req.path, query, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    res.type('application/fhir+json');
    if (this.failNext > 0) {
      this.failNext -= 1;
      res.status(500).send(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception', diagnostics: 'database is down' }] }));
      return;
    }
    const type = req.params.type as string;
    const since = query._lastUpdated?.startsWith('ge') ? Date.parse(query._lastUpdated.slice(2)) : -Infinity;
    const count = Number(query._count ?? 50);
    const offset = Number(query._offset ?? 0);
    const stamp = (r: Json) => Date.parse((r.meta as Json).lastUpdated as string);
    let matches = (this.byType.get(type) ?? []).filter((r) => stamp(r) >= since);
    matches = this.ignoreSort ? [...matches].reverse() : [...matches].sort((a, b) => stamp(a) - stamp(b) || String(a.id).localeCompare(String(b.id)));
    const page = matches.slice(offset, offset + count);
    const self = new URL(`${this.baseUrl}/${type}`);
    for (const [k, v] of Object.entries(query)) self.searchParams.set(k, v);
    const next = new URL(self);
    next.searchParams.set('_offset', String(offset + count));
    res.send(JSON.stringify({
      resourceType: 'Bundle', type: 'searchset', total: matches.length,
      link: [{ relation: 'self', url: self.toString() }, ...(offset + count < matches.length ? [{ relation: 'next', url: next.toString() }] : [])],
      entry: [
        ...page.map((r) => ({ fullUrl: `${this.baseUrl}/${type}/${String(r.id)}`, resource: r, search: { mode: 'match' } })),
        ...(offset === 0 ? [{ resource: { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational', diagnostics: 'demo server' }] }, search: { mode: 'outcome' } }] : []),
      ],
    }));
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

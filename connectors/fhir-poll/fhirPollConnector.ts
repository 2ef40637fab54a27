import path from 'node:path';
import cron, { type ScheduledTask } from 'node-cron';
import { HubError, toHubError } from '../../hub/core/hubError.ts';
import { PROJECT_ROOT } from '../../hub/core/schemaValidator.ts';
import type { Connector, ConnectorContext, ConnectorHealth, ConnectorKind } from '../connector.ts';
import { fhirIntakeFor, type FhirIntake } from '../fhir/fhirIntake.ts';
import { advancedWatermark, ingestedBefore, PollWatermarks, type IngestedStamp } from './pollWatermarks.ts';
import { UpstreamSearch, type JsonObject } from './upstreamSearch.ts';

/** `definitions.fhirPollOptions` in schemas/config.schema.json; defaults come from there. */
export interface FhirPollOptions {
  baseUrl: string;
  resourceTypes: string[];
  schedule: string;
  pageSize: number;
  maxPagesPerRun: number;
  timeoutMs: number;
  since?: string;
  stateDirectory: string;
  bearerTokenEnv?: string;
  basicAuthEnv?: string;
  /** extra search parameters per resource type */
  searchParams: Record<string, Record<string, string>>;
}

/** Parameters the poller sets itself: a site may not override them without breaking the watermark. */
const POLLER_PARAMS = ['_lastUpdated', '_sort', '_count'];

/** What one run did, per the whole run (all types). */
export interface PollRunReport {
  ok: boolean;
  fetched: number;
  published: number;
  /** returned again by a `ge` search but already ingested by an earlier run */
  skipped: number;
  refused: number;
  pages: number;
  error?: HubError;
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

function stampOf(resource: JsonObject): IngestedStamp | undefined {
  const lastUpdated = isObject(resource.meta) ? resource.meta.lastUpdated : undefined;
  return typeof resource.id === 'string' && typeof lastUpdated === 'string' ? { id: resource.id, lastUpdated } : undefined;
}

/** `Type/id/_history/version`: names exactly what was fetched, so a re-fetch is recognised downstream. */
function controlIdOf(resource: JsonObject): string | undefined {
  if (typeof resource.id !== 'string') return undefined;
  const version = isObject(resource.meta) && typeof resource.meta.versionId === 'string' ? `/_history/${resource.meta.versionId}` : '';
  return `${String(resource.resourceType)}/${resource.id}${version}`;
}

/**
 * Polls an upstream FHIR server on a cron schedule for resources changed since the last run,
 * type by type, oldest first, following `next` links. Each resource is its own Kafka record
 * keyed by its patient: searchset pages hold unrelated resources whose references point at the
 * upstream server, not at each other, so keeping a page whole would buy nothing and would tie
 * many patients to one partition. The watermark of a type moves only after every resource of
 * the run was confirmed by Kafka (or dead-lettered). Upstream or Kafka failures end the run,
 * are logged and shown as `degraded` health; the next run starts again from the watermark.
 */
export class FhirPollConnector implements Connector {
  readonly kind = 'fhir-poll';
  readonly id: string;
  private readonly intake: FhirIntake;
  private readonly upstream: UpstreamSearch;
  private readonly watermarks: PollWatermarks;
  /** recorded as the remote address of what is fetched, as the push connectors record the sender */
  private readonly upstreamHost: string;
  private task: ScheduledTask | undefined;
  private running: Promise<PollRunReport> | undefined;
  private abort = new AbortController();
  private lastRun: { at: string; report: PollRunReport } | undefined;
  private readonly counters = { runs: 0, failedRuns: 0, pages: 0, fetched: 0, skipped: 0 };

  constructor(private readonly ctx: ConnectorContext, private readonly options: FhirPollOptions) {
    this.id = ctx.config.id;
    const at = `connectors.${this.id}.options`;
    if (!cron.validate(options.schedule)) {
      throw new HubError('CONFIG_CONNECTOR_OPTIONS_INVALID', `connector "${this.id}" (fhir-poll): options.schedule "${options.schedule}" is not a cron expression`, { path: `${at}.schedule` });
    }
    for (const [type, params] of Object.entries(options.searchParams ?? {})) {
      const reserved = Object.keys(params).find((p) => POLLER_PARAMS.includes(p));
      if (reserved) throw new HubError('CONFIG_CONNECTOR_OPTIONS_INVALID', `connector "${this.id}" (fhir-poll): options.searchParams.${type}.${reserved} is set by the poller itself`, { path: `${at}.searchParams.${type}.${reserved}` });
    }
    this.intake = fhirIntakeFor(ctx);
    this.upstream = new UpstreamSearch({ baseUrl: options.baseUrl, timeoutMs: options.timeoutMs, pageSize: options.pageSize, ...authorizationOf(this.id, options) });
    // Relative to the install folder, like the file connector's folders, not to wherever the hub was started.
    this.watermarks = new PollWatermarks(PollWatermarks.fileFor(path.resolve(PROJECT_ROOT, options.stateDirectory), this.id), options.baseUrl);
    this.upstreamHost = new URL(options.baseUrl).host;
  }

  async start(): Promise<void> {
    if (!this.watermarks.load()) {
      this.ctx.log.warn({ connector: this.id, baseUrl: this.options.baseUrl }, 'poll state belongs to another upstream; polling this one from the start');
    }
    this.abort = new AbortController();
    this.task = cron.schedule(this.options.schedule, () => { void this.pollNow(); }, { name: `fhir-poll:${this.id}`, noOverlap: true });
    this.ctx.log.info({ connector: this.id, baseUrl: this.options.baseUrl, types: this.options.resourceTypes, schedule: this.options.schedule }, 'FHIR poller scheduled');
  }

  /** Runs one poll now, or joins the one under way. Never rejects: failures are in the report and health. */
  pollNow(): Promise<PollRunReport> {
    this.running ??= this.run().finally(() => { this.running = undefined; });
    return this.running;
  }

  private async run(): Promise<PollRunReport> {
    const report: PollRunReport = { ok: true, fetched: 0, published: 0, skipped: 0, refused: 0, pages: 0 };
    this.counters.runs += 1;
    try {
      for (const type of this.options.resourceTypes) await this.pollType(type, report);
    } catch (err) {
      report.ok = false;
      report.error = toHubError(err, 'FHIR_POLL_FAILED');
      this.counters.failedRuns += 1;
      this.ctx.log.warn({ connector: this.id, code: report.error.code, reason: report.error.message }, 'FHIR poll run failed; the next run starts again from the watermark');
    }
    this.lastRun = { at: new Date().toISOString(), report };
    return report;
  }

  private async pollType(type: string, report: PollRunReport): Promise<void> {
    const previous = this.watermarks.get(type);
    const stamps: IngestedStamp[] = [];
    let inOrder = true;
    let newest = previous ? Date.parse(previous.since) : -Infinity;
    let cut = false;
    for await (const page of this.upstream.changedSince(type, previous?.since ?? this.options.since, this.options.maxPagesPerRun, this.abort.signal, this.options.searchParams?.[type])) {
      report.pages += 1;
      this.counters.pages += 1;
      report.fetched += page.resources.length;
      this.counters.fetched += page.resources.length;
      const fresh = page.resources.filter((r) => !ingestedBefore(previous, stampOf(r)));
      report.skipped += page.resources.length - fresh.length;
      this.counters.skipped += page.resources.length - fresh.length;
      // Handed to Kafka together; the producer keeps their order, so one patient's stay in order.
      const results = await Promise.all(fresh.map((r) => {
        const controlId = controlIdOf(r);
        return this.intake.accept(Buffer.from(JSON.stringify(r)), { remoteAddress: this.upstreamHost, ...(controlId ? { controlId } : {}) });
      }));
      for (const [i, result] of results.entries()) {
        if (result.outcome === 'store-failed') throw result.error;
        if (result.outcome === 'rejected') {
          if (!result.deadLettered) throw new HubError('FHIR_POLL_NOT_KEPT', `a refused ${type} could not be dead-lettered either: ${result.error.message}`);
          report.refused += 1;
        } else report.published += 1;
        const stamp = stampOf(fresh[i]!);
        if (!stamp) continue;
        const at = Date.parse(stamp.lastUpdated);
        if (at < newest) inOrder = false;
        newest = Math.max(newest, at);
        stamps.push(stamp);
      }
      cut = page.more && page.number >= this.options.maxPagesPerRun;
    }
    if (cut && !inOrder) {
      // The upstream ignored _sort: what was not fetched may be older than what was.
      throw new HubError('FHIR_POLL_UNSORTED', `${type}: more than ${this.options.maxPagesPerRun} pages changed and the upstream does not sort by _lastUpdated; raise maxPagesPerRun so a run can fetch them all`);
    }
    const next = advancedWatermark(previous, stamps);
    if (next) this.watermarks.set(type, next);
  }

  health(): ConnectorHealth {
    if (!this.task) return { status: 'down', detail: 'not scheduled' };
    const report = this.lastRun?.report;
    if (report && !report.ok) return { status: 'degraded', detail: `last run at ${this.lastRun!.at} failed: ${report.error?.code ?? ''} ${report.error?.message ?? ''}`.trim() };
    return { status: 'up', ...(this.lastRun ? { detail: `last run at ${this.lastRun.at}` } : {}) };
  }

  metrics(): Record<string, number> {
    return { ...this.intake.counters, ...this.counters };
  }

  async stop(): Promise<void> {
    const task = this.task;
    this.task = undefined;
    if (task) await task.destroy();
    this.abort.abort();
    await this.running;
    this.ctx.log.info({ connector: this.id }, 'FHIR poller stopped');
  }
}

/** The Authorization header for the upstream, read from the environment variables the options name. */
function authorizationOf(id: string, options: FhirPollOptions): { authorization?: string } {
  const at = `connectors.${id}.options`;
  if (options.bearerTokenEnv && options.basicAuthEnv) {
    throw new HubError('CONFIG_CONNECTOR_OPTIONS_INVALID', `connector "${id}" (fhir-poll): set bearerTokenEnv or basicAuthEnv, not both`, { path: `${at}.basicAuthEnv` });
  }
  const name = options.bearerTokenEnv ?? options.basicAuthEnv;
  if (!name) return {};
  const value = process.env[name];
  if (!value) {
    throw new HubError('CONFIG_CONNECTOR_SECRET_MISSING', `connector "${id}": environment variable ${name} (options.${options.bearerTokenEnv ? 'bearerTokenEnv' : 'basicAuthEnv'}) is not set`, { path: `${at}.${options.bearerTokenEnv ? 'bearerTokenEnv' : 'basicAuthEnv'}` });
  }
  return { authorization: options.bearerTokenEnv ? `Bearer ${value}` : `Basic ${Buffer.from(value).toString('base64')}` };
}

export const fhirPollKind: ConnectorKind<FhirPollOptions> = {
  kind: 'fhir-poll',
  optionsSchema: 'fhirPollOptions',
  create: (ctx, options) => new FhirPollConnector(ctx, options),
};

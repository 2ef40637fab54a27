import { KafkaGroupOffsets } from '../../hub/bus/kafkaGroupOffsets.ts';
import { KafkaTopicReader } from '../../hub/bus/kafkaTopicReader.ts';
import { kafkaSecurityProperties } from '../../hub/bus/kafkaSecurity.ts';
import type { GroupOffsetReader, TopicReader } from '../../hub/bus/messageBus.ts';
import type { HubConfig } from '../../hub/config/hubConfig.ts';
import { loadConfig } from '../../hub/config/loadConfig.ts';
import { HubError } from '../../hub/core/hubError.ts';
import {
  deadLetterStatus, ingestRate, sampleIngest, type DeadLetterStatus, type IngestRate, type IngestSample,
} from '../../hub/pipeline/ingestStatus.ts';
import { parseArgs, type Command } from './command.ts';

const USAGE = `usage: hub status [--interval 5s] [--watch] [--json] [--dead-letters 5]

Shows how far the pipeline (consumer group pipeline.groupId) is through the inbound topics:
per partition the committed offset, the end (high watermark) and the lag; the records handled
per second (stored or dead-lettered), from the group's committed offsets read twice --interval
apart, and the time to work off the lag at that rate; the dead-letter topic's record count and
its newest few codes. Nothing is read from the store, and the group is never joined or moved.

  --interval D       time between the two readings (5s; 500ms, 1m; 0: one reading, no rate)
  --watch            refresh every --interval until Ctrl-C
  --json             one JSON object per reading, for machines
  --dead-letters N   how many of the newest dead letters to list (5; 0: none)`;

/** `5s`, `500ms`, `1m`, or plain seconds. */
export function parseInterval(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/i.exec(value.trim());
  if (!m) throw new HubError('CLI_ARGUMENT_INVALID', `--interval "${value}" is not a duration (5s, 500ms, 1m)`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[(m[2] ?? 's').toLowerCase() as 'ms' | 's' | 'm'];
}

/** What one reading of `hub status` reports; `--json` prints exactly this. */
export interface IngestStatusReport {
  at: string;
  group: string;
  partitions: IngestSample['partitions'];
  totalLag: number;
  missingTopics: string[];
  /** null with --interval 0 */
  rate: IngestRate | null;
  deadLetters: DeadLetterStatus;
}

export interface StatusDeps {
  config: HubConfig;
  offsets: GroupOffsetReader;
  reader: TopicReader;
  out: (text: string) => void;
  /** waits `ms`; resolves false when the wait was cut short (Ctrl-C) */
  sleep?: (ms: number) => Promise<boolean>;
  /** --watch: called before each refreshed table (clears a terminal) */
  clear?: () => void;
  now?: () => number;
}

function options(argv: string[]): { json: boolean; watch: boolean; intervalMs: number; recent: number; help: boolean } {
  const { positional, options: o } = parseArgs(argv);
  if (o.help) return { json: false, watch: false, intervalMs: 0, recent: 0, help: true };
  if (positional.length) throw new HubError('CLI_ARGUMENT_INVALID', `unexpected argument "${positional[0]}"\n${USAGE}`);
  const known = new Set(['json', 'watch', 'interval', 'dead-letters']);
  const unknown = Object.keys(o).find((k) => !known.has(k));
  if (unknown) throw new HubError('CLI_ARGUMENT_INVALID', `unknown option --${unknown}\n${USAGE}`);
  for (const k of ['interval', 'dead-letters']) {
    if (o[k] === true) throw new HubError('CLI_ARGUMENT_INVALID', `--${k} needs a value`);
  }
  const intervalMs = typeof o.interval === 'string' ? parseInterval(o.interval) : 5000;
  const recent = typeof o['dead-letters'] === 'string' ? Number(o['dead-letters']) : 5;
  if (!Number.isInteger(recent) || recent < 0) throw new HubError('CLI_ARGUMENT_INVALID', `--dead-letters "${String(o['dead-letters'])}" is not a whole number`);
  if (o.watch && intervalMs <= 0) throw new HubError('CLI_ARGUMENT_INVALID', '--watch needs an --interval above 0');
  return { json: o.json === true, watch: o.watch === true, intervalMs, recent, help: false };
}

const seconds = (s: number): string => (s < 60 ? `${s.toFixed(s < 10 ? 1 : 0)} s` : s < 3600 ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s` : `${(s / 3600).toFixed(1)} h`);

function table(rows: string[][], rightAligned: Set<number>): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i]!) : i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

/** The readable form of one reading. */
export function formatStatus(report: IngestStatusReport): string {
  const lines = [`pipeline group ${report.group} at ${report.at}`, ''];
  if (report.partitions.length) {
    lines.push(table([
      ['TOPIC', 'PARTITION', 'COMMITTED', 'END', 'LAG'],
      ...report.partitions.map((p) => [p.topic, String(p.partition), p.committed === null ? '-' : String(p.committed), String(p.high), String(p.lag)]),
    ], new Set([1, 2, 3, 4])));
  }
  for (const topic of report.missingTopics) lines.push(`${topic}: no such topic (the hub creates it when it starts)`);
  lines.push(`total lag ${report.totalLag} record(s)`);
  const r = report.rate;
  if (r) {
    const eta = r.etaSeconds === null ? 'nothing moved while records wait' : r.etaSeconds === 0 ? 'caught up' : `caught up in ~${seconds(r.etaSeconds)} at this rate`;
    lines.push(`handled ${r.perSecond.toFixed(1)} msg/s (${r.handled} stored or dead-lettered in ${seconds(r.intervalMs / 1000)}); ${eta}`);
  }
  const d = report.deadLetters;
  lines.push('', d.partitions.length ? `dead letters: ${d.records} record(s) in ${d.topic}` : `dead letters: no topic ${d.topic} (the hub creates it when it starts)`);
  if (d.recent.length) {
    lines.push(table([
      ['POSITION', 'FAILED AT', 'CODE', 'STAGE', 'CONTROL ID'],
      ...d.recent.map((e) => [e.position, e.failedAt, e.code, e.stage, e.controlId ?? '-']),
    ], new Set()).replace(/^/gm, '  '));
  }
  return lines.join('\n');
}

const waitFor = (ms: number): Promise<boolean> => new Promise((resolve) => setTimeout(() => resolve(true), ms));

/** The command body with its dependencies passed in (tests give it their own topics and clients). */
export async function runStatus(argv: string[], deps: StatusDeps): Promise<number> {
  const opts = options(argv);
  if (opts.help) {
    deps.out(USAGE);
    return 0;
  }
  const { config } = deps;
  const sleep = deps.sleep ?? waitFor;
  const now = deps.now ?? Date.now;
  const group = config.pipeline.groupId;
  const topics = [config.kafka.topics.hl7v2Inbound, config.kafka.topics.fhirInbound];
  const sample = () => sampleIngest(deps.offsets, group, topics, now);

  let previous = opts.intervalMs > 0 ? await sample() : undefined;
  for (;;) {
    if (previous && !(await sleep(opts.intervalMs))) return 0;
    const [current, deadLetters] = await Promise.all([sample(), deadLetterStatus(deps.offsets, deps.reader, config.kafka.topics.deadLetter, opts.recent)]);
    const report: IngestStatusReport = {
      at: new Date(current.at).toISOString(), group, partitions: current.partitions, totalLag: current.totalLag,
      missingTopics: current.missingTopics, rate: previous ? ingestRate(previous, current) : null, deadLetters,
    };
    if (opts.json) deps.out(JSON.stringify(report));
    else {
      if (opts.watch) deps.clear?.();
      deps.out(formatStatus(report));
    }
    if (!opts.watch) return 0;
    previous = current;
  }
}

export const statusCommand: Command = {
  name: 'status',
  summary: 'show the pipeline\'s lag per partition, messages handled per second and the newest dead letters',
  usage: USAGE,
  async run(argv) {
    if (parseArgs(argv).options.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const config = loadConfig();
    const security = kafkaSecurityProperties(config.kafka.security);
    const offsets = new KafkaGroupOffsets(config.kafka.brokers, security);
    const reader = new KafkaTopicReader(config.kafka.brokers, security);
    // Ctrl-C ends a --watch between readings, closing the Kafka clients
    const stop = new AbortController();
    const onSigint = () => stop.abort();
    process.once('SIGINT', onSigint);
    try {
      return await runStatus(argv, {
        config, offsets, reader,
        out: (text) => process.stdout.write(`${text}\n`),
        clear: () => { if (process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H'); },
        sleep: (ms) => new Promise((resolve) => {
          if (stop.signal.aborted) return resolve(false);
          const timer = setTimeout(() => resolve(true), ms);
          stop.signal.addEventListener('abort', () => { clearTimeout(timer); resolve(false); }, { once: true });
        }),
      });
    } finally {
      process.off('SIGINT', onSigint);
      await Promise.all([offsets.close(), reader.close()]);
    }
  },
};

import { KafkaProducer } from '../../hub/bus/kafkaBus.ts';
import { KafkaTopicReader } from '../../hub/bus/kafkaTopicReader.ts';
import { kafkaSecurityProperties } from '../../hub/bus/kafkaSecurity.ts';
import type { BusProducer, TopicReader } from '../../hub/bus/messageBus.ts';
import type { HubConfig } from '../../hub/config/hubConfig.ts';
import { loadConfig } from '../../hub/config/loadConfig.ts';
import { loadDataProtection } from '../../hub/crypto/dataProtection.ts';
import { OpeningTopicReader, recordOpener, SealingProducer } from '../../hub/crypto/recordSealing.ts';
import { HubError } from '../../hub/core/hubError.ts';
import { silentLogger } from '../../hub/core/logger.ts';
import { deadLetterEntries, replayDeadLetters, type DeadLetterEntry, type DeadLetterFilter } from '../../hub/pipeline/deadLetter.ts';
import { parseArgs, type Command } from './command.ts';

const USAGE = `usage:
  hub deadletter list   [--code CODE] [--stage STAGE] [--connector ID] [--since 2h|ISO-date] [--limit N] [--json]
  hub deadletter replay [--code CODE] [--stage STAGE] [--connector ID] [--since 2h|ISO-date] [--position P:O] [--dry-run]

replay republishes each matching record to its original topic, headers restored, with
hub-replay-of naming the dead-letter record. The pipeline is idempotent: replaying twice is harmless.`;

/** `2h`, `30m`, `7d`, `45s` ago, or an ISO date/time. */
export function parseSince(value: string, now = Date.now()): number {
  const rel = /^(\d+)\s*([smhd])$/i.exec(value.trim());
  if (rel) {
    const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2]!.toLowerCase() as 's' | 'm' | 'h' | 'd'];
    return now - Number(rel[1]) * unit;
  }
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new HubError('CLI_ARGUMENT_INVALID', `--since "${value}" is neither a duration (30m, 2h, 7d) nor a date (2026-05-01T08:00:00+08:00)`);
  return t;
}

function filterOf(options: Record<string, string | true>): DeadLetterFilter {
  const str = (k: string) => (typeof options[k] === 'string' ? options[k] as string : undefined);
  const filter: DeadLetterFilter = {};
  if (str('code')) filter.code = str('code')!;
  if (str('stage')) filter.stage = str('stage')!;
  if (str('connector')) filter.connectorId = str('connector')!;
  if (str('since')) filter.since = parseSince(str('since')!);
  if (str('position')) filter.position = str('position')!;
  for (const k of ['code', 'stage', 'connector', 'since', 'position', 'limit']) {
    if (options[k] === true) throw new HubError('CLI_ARGUMENT_INVALID', `--${k} needs a value`);
  }
  return filter;
}

function row(e: DeadLetterEntry): string[] {
  return [
    `${e.partition}:${e.offset}`, e.failedAt, e.code, e.stage, e.originalTopic, e.controlId ?? '-', e.messageType ?? '-', e.connectorId ?? '-',
    `${e.truncated ? '[truncated] ' : ''}${e.replayOf ? `[replay of ${e.replayOf}] ` : ''}${(e.attempts ?? 0) > 1 ? `[${e.attempts} attempts] ` : ''}${e.reason.replace(/\s+/g, ' ').slice(0, 160)}`,
  ];
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

export interface DeadLetterDeps {
  config: HubConfig;
  reader: TopicReader;
  /** only for replay */
  producer?: () => BusProducer;
  out: (text: string) => void;
}

/** The command body with its dependencies passed in (tests give it their own topics). */
export async function runDeadLetter(argv: string[], deps: DeadLetterDeps): Promise<number> {
  const { positional, options } = parseArgs(argv);
  const action = positional[0];
  const topic = deps.config.kafka.topics.deadLetter;
  if (action === 'list') {
    const filter = filterOf(options);
    const limit = typeof options.limit === 'string' ? Number(options.limit) : Number.POSITIVE_INFINITY;
    const rows: string[][] = [['POSITION', 'FAILED AT', 'CODE', 'STAGE', 'ORIGINAL TOPIC', 'CONTROL ID', 'TYPE', 'CONNECTOR', 'REASON']];
    let count = 0;
    for await (const entry of deadLetterEntries(deps.reader, topic, filter)) {
      count += 1;
      if (count > limit) continue; // keep counting so the total is right
      if (options.json) {
        const { record: _record, ...plain } = entry;
        deps.out(JSON.stringify(plain));
      } else rows.push(row(entry));
    }
    if (!options.json) {
      if (rows.length > 1) deps.out(table(rows));
      deps.out(`${count} dead-letter record(s) in ${topic}${count > limit ? ` (first ${limit} shown)` : ''}`);
    }
    return 0;
  }
  if (action === 'replay') {
    const filter = filterOf(options);
    if (options['dry-run']) {
      let n = 0;
      for await (const entry of deadLetterEntries(deps.reader, topic, filter)) {
        n += 1;
        deps.out(`would replay ${entry.partition}:${entry.offset} ${entry.code} to ${entry.originalTopic}${entry.controlId ? ` (MSH-10 ${entry.controlId})` : ''}`);
      }
      deps.out(`${n} record(s) would be replayed`);
      return 0;
    }
    if (!deps.producer) throw new HubError('CLI_INTERNAL', 'replay needs a producer');
    const producer = deps.producer();
    try {
      const report = await replayDeadLetters(deps.reader, producer, topic, filter, (entry, done) => {
        if (done % 100 === 0) deps.out(`replayed ${done} so far (last ${entry.partition}:${entry.offset})`);
      });
      for (const s of report.skipped) deps.out(`skipped ${s.position}: ${s.reason}`);
      deps.out(`replayed ${report.replayed} record(s) from ${topic}${report.skipped.length ? `, skipped ${report.skipped.length}` : ''}`);
      return report.skipped.length ? 1 : 0;
    } finally {
      await producer.close();
    }
  }
  deps.out(USAGE);
  return 2;
}

export const deadLetterCommand: Command = {
  name: 'deadletter',
  summary: 'list dead-lettered messages (reason, code, stage, topic, control id) and replay them to their topic',
  usage: USAGE,
  async run(argv) {
    const config = loadConfig();
    const security = kafkaSecurityProperties(config.kafka.security);
    // with encryption on, records are opened to be listed and sealed again when replayed
    const protection = await loadDataProtection(config.encryption);
    const sealer = protection?.recordSealer();
    const reader = new OpeningTopicReader(new KafkaTopicReader(config.kafka.brokers, security), recordOpener(sealer));
    try {
      return await runDeadLetter(argv, {
        config, reader,
        producer: () => {
          const producer = new KafkaProducer({
            brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-replay`,
            deliveryTimeoutMs: config.kafka.deliveryTimeoutMs, maxQueuedMessages: config.kafka.maxQueuedMessages, security,
          }, silentLogger());
          return sealer ? new SealingProducer(producer, sealer) : producer;
        },
        out: (text) => process.stdout.write(`${text}\n`),
      });
    } finally {
      await reader.close();
    }
  },
};

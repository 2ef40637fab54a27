import type { GroupOffsetReader, TopicReader } from '../bus/messageBus.ts';
import { deadLetterEntryOf } from './deadLetter.ts';

/** One partition of an inbound topic as the pipeline's consumer group stands in it. */
export interface PartitionLag {
  topic: string;
  partition: number;
  /** the next offset the group will handle; null: it never committed here (it starts at `low`) */
  committed: number | null;
  low: number;
  high: number;
  /** records written and not yet handled by the group */
  lag: number;
}

/** The group's position on its topics at one moment. */
export interface IngestSample {
  /** epoch millis, taken once the offsets were read */
  at: number;
  group: string;
  partitions: PartitionLag[];
  totalLag: number;
  /** inbound topics that do not exist (yet: the hub creates them at start-up) */
  missingTopics: string[];
}

/**
 * Where the group resumes: its commit, or the oldest kept record when it never committed or
 * its commit was deleted by retention (auto.offset.reset earliest).
 */
const positionOf = (p: Pick<PartitionLag, 'committed' | 'low'>): number => Math.max(p.committed ?? p.low, p.low);

/** Reads the group's committed offsets and the partitions' ends: no store query, nothing joined or committed. */
export async function sampleIngest(offsets: GroupOffsetReader, group: string, topics: string[], now: () => number = Date.now): Promise<IngestSample> {
  const [ends, committed] = await Promise.all([
    Promise.all(topics.map((topic) => offsets.watermarks(topic))),
    offsets.committedOffsets(group, topics),
  ]);
  const commitOf = new Map(committed.map((c) => [`${c.topic}/${c.partition}`, c.offset]));
  const partitions = ends.flat().map((w): PartitionLag => {
    const entry = { topic: w.topic, partition: w.partition, committed: commitOf.get(`${w.topic}/${w.partition}`) ?? null, low: w.low, high: w.high };
    return { ...entry, lag: Math.max(0, w.high - positionOf(entry)) };
  });
  return {
    at: now(), group, partitions,
    totalLag: partitions.reduce((sum, p) => sum + p.lag, 0),
    missingTopics: topics.filter((_, i) => ends[i]!.length === 0),
  };
}

/** What the group handled between two samples. */
export interface IngestRate {
  intervalMs: number;
  /** records the group committed past: stored or dead-lettered */
  handled: number;
  perSecond: number;
  /** time to work off the lag at this rate; null when nothing moved while records wait */
  etaSeconds: number | null;
}

/**
 * The rate from two samples of committed offsets. It costs the store nothing, unlike counting
 * `source_messages` by `processedAt`, which FerretDB can only answer by a scan.
 */
export function ingestRate(before: IngestSample, after: IngestSample): IngestRate {
  const earlier = new Map(before.partitions.map((p) => [`${p.topic}/${p.partition}`, positionOf(p)]));
  let handled = 0;
  for (const p of after.partitions) {
    const from = earlier.get(`${p.topic}/${p.partition}`);
    if (from !== undefined) handled += Math.max(0, positionOf(p) - from);
  }
  const intervalMs = Math.max(1, after.at - before.at);
  const perSecond = handled / (intervalMs / 1000);
  const etaSeconds = after.totalLag === 0 ? 0 : perSecond > 0 ? after.totalLag / perSecond : null;
  return { intervalMs, handled, perSecond, etaSeconds };
}

/** One of the newest dead letters, as `hub status` lists them. */
export interface RecentDeadLetter {
  position: string;
  failedAt: string;
  code: string;
  stage: string;
  controlId?: string;
}

export interface DeadLetterStatus {
  topic: string;
  /** records kept in the topic: high minus low watermark, summed over its partitions */
  records: number;
  partitions: Array<{ partition: number; records: number }>;
  /** the newest few, newest first */
  recent: RecentDeadLetter[];
}

/** Counts the dead-letter topic from its watermarks and reads only its newest `recent` records. */
export async function deadLetterStatus(offsets: GroupOffsetReader, reader: TopicReader, topic: string, recent: number): Promise<DeadLetterStatus> {
  const ends = await offsets.watermarks(topic);
  const partitions = ends.map((w) => ({ partition: w.partition, records: Math.max(0, w.high - w.low) }));
  const records = partitions.reduce((sum, p) => sum + p.records, 0);
  const newest: RecentDeadLetter[] = [];
  if (recent > 0 && records > 0) {
    // the last `recent` of each partition hold the newest `recent` of the topic
    for await (const record of reader.read(topic, { last: recent })) {
      const e = deadLetterEntryOf(record);
      newest.push({ position: `${e.partition}:${e.offset}`, failedAt: e.failedAt, code: e.code, stage: e.stage, ...(e.controlId ? { controlId: e.controlId } : {}) });
    }
    newest.sort((a, b) => b.failedAt.localeCompare(a.failedAt));
  }
  return { topic, records, partitions, recent: newest.slice(0, recent) };
}

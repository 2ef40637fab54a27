import type { BusProducer, ConsumedRecord } from '../bus/messageBus.ts';
import type { HubError } from '../core/hubError.ts';
import { outcomeFromError } from '../core/operationOutcome.ts';

/** Headers a dead-lettered record carries besides the original ones. */
export const DLQ_HEADERS = {
  code: 'hub-dlq-code',
  reason: 'hub-dlq-reason',
  stage: 'hub-dlq-stage',
  outcome: 'hub-dlq-outcome',
  originalTopic: 'hub-dlq-original-topic',
  originalPartition: 'hub-dlq-original-partition',
  originalOffset: 'hub-dlq-original-offset',
  failedAt: 'hub-dlq-failed-at',
} as const;

export type PipelineStage = 'decode' | 'parse' | 'map' | 'validate' | 'store' | 'ingest';

/**
 * Nothing is dropped: a record that cannot be processed goes to the dead-letter topic with its
 * original bytes and headers, the reason, and an OperationOutcome naming the path, so it can be
 * replayed to its original topic once the mapping or the data is fixed.
 */
export class DeadLetterPublisher {
  constructor(private readonly producer: BusProducer, private readonly topic: string) {}

  async send(record: Pick<ConsumedRecord, 'topic' | 'partition' | 'offset' | 'value' | 'headers' | 'key'>, error: HubError, stage: PipelineStage): Promise<void> {
    const headers: Record<string, string> = {
      ...record.headers,
      [DLQ_HEADERS.code]: error.code,
      [DLQ_HEADERS.reason]: error.message.slice(0, 2000),
      [DLQ_HEADERS.stage]: stage,
      [DLQ_HEADERS.outcome]: JSON.stringify(outcomeFromError(error)).slice(0, 8000),
      [DLQ_HEADERS.originalTopic]: record.topic,
      [DLQ_HEADERS.originalPartition]: String(record.partition),
      [DLQ_HEADERS.originalOffset]: String(record.offset),
      [DLQ_HEADERS.failedAt]: new Date().toISOString(),
    };
    await this.producer.publish({ topic: this.topic, value: record.value, headers, ...(record.key ? { key: record.key } : {}) });
  }
}

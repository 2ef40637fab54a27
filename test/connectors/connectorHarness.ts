import type { Connector, SupportCheck } from '../../connectors/connector.ts';
import { createConnector } from '../../connectors/connectorRegistry.ts';
import { KafkaProducer, KafkaTopicAdmin } from '../../hub/bus/kafkaBus.ts';
import { KafkaTopicReader } from '../../hub/bus/kafkaTopicReader.ts';
import type { ConsumedRecord } from '../../hub/bus/messageBus.ts';
import type { ConnectorConfig, HubConfig } from '../../hub/config/hubConfig.ts';
import { createLogger, silentLogger, type Logger } from '../../hub/core/logger.ts';
import { eventually, isolatedConfig } from '../support/testServices.ts';

export function testLogger(): Logger {
  return process.env.HUB_TEST_LOG_LEVEL ? createLogger({ level: process.env.HUB_TEST_LOG_LEVEL }) : silentLogger();
}

/**
 * One connector against the real Kafka with topics of its own, and a way to read back what it
 * wrote. No MongoDB: connectors never touch the store.
 */
export class ConnectorHarness<C extends Connector = Connector> {
  readonly hub: HubConfig;
  readonly producer: KafkaProducer;
  readonly reader: KafkaTopicReader;
  connector!: C;

  /** `log`: pass a capturing logger to assert what the connector logs */
  constructor(private readonly connectorConfig: ConnectorConfig, private readonly isSupported?: SupportCheck, overrides: Record<string, unknown> = {}, private readonly log: Logger = testLogger()) {
    this.hub = isolatedConfig({ connectors: [connectorConfig], ...overrides });
    this.producer = new KafkaProducer({
      brokers: this.hub.kafka.brokers, clientId: 'connector-test',
      deliveryTimeoutMs: this.hub.kafka.deliveryTimeoutMs, maxQueuedMessages: this.hub.kafka.maxQueuedMessages,
    }, this.log);
    this.reader = new KafkaTopicReader(this.hub.kafka.brokers);
  }

  get inboundTopic(): string {
    return this.connectorConfig.topic ?? this.hub.kafka.topics.hl7v2Inbound;
  }

  get deadLetterTopic(): string {
    return this.hub.kafka.topics.deadLetter;
  }

  async start(): Promise<C> {
    await new KafkaTopicAdmin(this.hub.kafka.brokers, this.log).ensureTopics(
      [this.inboundTopic, this.deadLetterTopic].map((name) => ({ name, partitions: 1 })),
    );
    await this.producer.connect();
    this.connector = this.create();
    await this.connector.start();
    return this.connector;
  }

  /** A fresh connector instance on the same config and state (a restart). */
  create(): C {
    return createConnector({
      config: this.connectorConfig, hub: this.hub, producer: this.producer, log: this.log,
      ...(this.isSupported ? { isSupported: this.isSupported } : {}),
    }) as C;
  }

  async records(topic: string): Promise<ConsumedRecord[]> {
    const out: ConsumedRecord[] = [];
    for await (const r of this.reader.read(topic)) out.push(r);
    return out;
  }

  /** Waits until the topic holds at least `count` records and returns them. */
  async awaitRecords(topic: string, count: number, timeoutMs = 30_000): Promise<ConsumedRecord[]> {
    return eventually(async () => {
      const records = await this.records(topic);
      return records.length >= count ? records : undefined;
    }, timeoutMs, `${count} records in ${topic}`);
  }

  async stop(): Promise<void> {
    await this.connector?.stop();
    await this.reader.close();
    await this.producer.close();
  }
}

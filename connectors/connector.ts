import type { BusProducer } from '../hub/bus/messageBus.ts';
import type { ConnectorConfig, HubConfig } from '../hub/config/hubConfig.ts';
import type { Logger } from '../hub/core/logger.ts';

export type ConnectorStatus = 'up' | 'degraded' | 'down';

export interface ConnectorHealth {
  status: ConnectorStatus;
  detail?: string;
}

/**
 * A feed endpoint. Adding a feed is a config entry; adding a kind of feed is one module that
 * registers a factory in connectorRegistry.ts.
 */
export interface Connector {
  readonly id: string;
  readonly kind: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): ConnectorHealth;
  /** counters since start: received, accepted, rejected, ... */
  metrics(): Record<string, number>;
}

export interface ConnectorContext {
  config: ConnectorConfig;
  hub: HubConfig;
  producer: BusProducer;
  log: Logger;
}

export type ConnectorFactory = (ctx: ConnectorContext) => Connector;

import type { AuthConfig } from '../hub/auth/authConfig.ts';
import type { BusProducer } from '../hub/bus/messageBus.ts';
import type { ConnectorConfig, HubConfig } from '../hub/config/hubConfig.ts';
import type { Logger } from '../hub/core/logger.ts';
import type { Hl7Message } from '../hub/hl7v2/hl7Message.ts';

export type ConnectorStatus = 'up' | 'degraded' | 'down';

export interface ConnectorHealth {
  status: ConnectorStatus;
  detail?: string;
}

/**
 * A feed endpoint. Adding a feed is a config entry; adding a kind of feed is one module that
 * exports a ConnectorKind and one line in connectorRegistry.ts.
 */
export interface Connector {
  readonly id: string;
  readonly kind: string;
  start(): Promise<void>;
  /** stops taking new messages, lets those in hand finish, then releases the listener */
  stop(): Promise<void>;
  health(): ConnectorHealth;
  /** counters since start: received, accepted, rejected, ... */
  metrics(): Record<string, number>;
}

/**
 * Whether the hub can process a parsed message. The runtime builds it from the mapping
 * registry, so connectors stay independent of mappings; without it every type is accepted.
 */
export type SupportCheck = (message: Hl7Message) => SupportVerdict;

export type SupportVerdict =
  | { supported: true }
  /** `messageType`: nothing handles MSH-9.1 (HL7 error 200); `triggerEvent`: nor this MSH-9.2 (201) */
  | { supported: false; unsupported: 'messageType' | 'triggerEvent'; reason: string };

export interface ConnectorContext {
  config: ConnectorConfig;
  hub: HubConfig;
  producer: BusProducer;
  log: Logger;
  isSupported?: SupportCheck;
}

/**
 * A kind of connector: the JSON Schema of its `options` (a definition in
 * schemas/config.schema.json, defaults included) and a factory that receives them validated.
 */
export interface ConnectorKind<Options> {
  kind: string;
  /** definition name under `definitions` in schemas/config.schema.json */
  optionsSchema: string;
  create(ctx: ConnectorContext, options: Options): Connector;
  /**
   * Refuses (throws a CONFIG_* HubError naming the key to set) a configuration that would
   * expose the feed: who may send, from where. Runs before any connector starts and again
   * when one is created. `auth` is the hub's `auth:` section, whose keys check intake tokens.
   */
  checkSecurity?(config: ConnectorConfig, options: Options, auth: AuthConfig | undefined): void;
}

import type { AuthConfig } from '../auth/authConfig.ts';
import type { KafkaSecurityConfig } from '../bus/kafkaSecurity.ts';
import type { EncryptionConfig } from '../crypto/dataProtection.ts';
import type { ListenerTls } from '../core/listenerTls.ts';

/** The validated configuration; its shape is schemas/config.schema.json. */
export type SourceSystem = 'HIS' | 'LIS' | 'PACS' | 'other';

export interface ConnectorConfig {
  id: string;
  kind: string;
  sourceSystem: SourceSystem;
  enabled?: boolean;
  topic?: string;
  host?: string;
  port?: number;
  options?: Record<string, unknown>;
}

export interface HubConfig {
  site: { name: string; timeZone: string; identifierSystemBase: string };
  kafka: {
    brokers: string;
    clientId: string;
    partitions: number;
    deliveryTimeoutMs: number;
    maxQueuedMessages: number;
    topics: { hl7v2Inbound: string; fhirInbound: string; deadLetter: string };
    /** TLS/SASL to the brokers; none = PLAINTEXT */
    security?: KafkaSecurityConfig;
  };
  mongo: { url: string; database: string };
  api: {
    host: string; port: number; baseUrl?: string; /** api/apiLimits.ts names the keys; the schema checks them */ limits?: Record<string, number>;
    /** HTTPS (and optionally client certificates) for the FHIR API */
    tls?: ListenerTls;
  };
  auth?: AuthConfig;
  pipeline: {
    groupId: string;
    batchSize: number;
    /** a record that failed this many times is dead-lettered whatever the reason */
    maxAttempts: number;
    /** delay before the second attempt, doubling up to maxMs */
    backoff: { initialMs: number; maxMs: number };
    /** the work one message may cost */
    limits: { maxSegments: number; maxResources: number };
  };
  mpi: { enabled: boolean; rulesFile: string };
  /** encryption at rest (hub/crypto/dataProtection.ts); off when absent */
  encryption?: EncryptionConfig;
  mappings: { dir: string; site?: string };
  log: { level: string };
  connectors: ConnectorConfig[];
}

import { accessSync, constants } from 'node:fs';
import type { GlobalConfig } from 'node-rdkafka';
import { HubError } from '../core/hubError.ts';

/**
 * `kafka.security` (schemas/config.schema.json): how every Kafka client of the hub (producer,
 * pipeline consumer, topic admin, dead-letter reader, status offset reader, health probe) reaches the brokers.
 * Secrets are never in the config file: SASL credentials and a key password come from the
 * environment variables it names.
 */
export interface KafkaSecurityConfig {
  protocol: 'PLAINTEXT' | 'SSL' | 'SASL_SSL' | 'SASL_PLAINTEXT';
  /** CA bundle (PEM) that signs the brokers' certificates; default: the system's CAs */
  caFile?: string;
  /** client certificate and key (PEM) for brokers that require mutual TLS */
  certFile?: string;
  keyFile?: string;
  /** environment variable holding the password of an encrypted keyFile */
  keyPasswordEnv?: string;
  /** check that the broker's certificate names the host connected to (default true) */
  verifyHostname?: boolean;
  sasl?: {
    mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
    /** environment variables holding the SASL user name and password */
    usernameEnv: string;
    passwordEnv: string;
  };
}

/** The librdkafka properties merged into each client's configuration. */
export type KafkaClientSecurity = Pick<GlobalConfig,
  'security.protocol' | 'ssl.ca.location' | 'ssl.certificate.location' | 'ssl.key.location' | 'ssl.key.password'
  | 'ssl.endpoint.identification.algorithm' | 'sasl.mechanisms' | 'sasl.username' | 'sasl.password'>;

const KEY = 'kafka.security';

function configError(code: string, key: string, message: string): HubError {
  return new HubError(code, message, { path: `${KEY}.${key}` });
}

/** librdkafka reads the files itself, later and with a vaguer error: check them where the key can be named. */
function readableFile(file: string, key: string): string {
  try {
    accessSync(file, constants.R_OK);
  } catch (err) {
    throw configError('CONFIG_KAFKA_TLS_FILE_UNREADABLE', key, `cannot read ${KEY}.${key} ${file}: ${(err as Error).message}`);
  }
  return file;
}

function secret(env: NodeJS.ProcessEnv, variable: string, key: string): string {
  const value = env[variable];
  if (!value) throw configError('CONFIG_KAFKA_SECRET_MISSING', key, `environment variable ${variable} (${KEY}.${key}) is not set`);
  return value;
}

/**
 * The librdkafka properties for `kafka.security`: none for PLAINTEXT (or no section). Settings
 * the protocol would ignore are refused rather than silently dropped (a CA file with PLAINTEXT
 * means someone believes the connection is encrypted).
 */
export function kafkaSecurityProperties(security: KafkaSecurityConfig | undefined, env: NodeJS.ProcessEnv = process.env): KafkaClientSecurity {
  if (!security) return {};
  const tls = security.protocol === 'SSL' || security.protocol === 'SASL_SSL';
  const sasl = security.protocol === 'SASL_SSL' || security.protocol === 'SASL_PLAINTEXT';
  if (!tls) {
    const tlsKey = (['caFile', 'certFile', 'keyFile', 'keyPasswordEnv', 'verifyHostname'] as const).find((k) => security[k] !== undefined);
    if (tlsKey) throw configError('CONFIG_KAFKA_SECURITY_INVALID', tlsKey, `${KEY}.${tlsKey} needs protocol SSL or SASL_SSL (it is ${security.protocol}, which does not encrypt)`);
  }
  if (!sasl && security.sasl) throw configError('CONFIG_KAFKA_SECURITY_INVALID', 'sasl', `${KEY}.sasl needs protocol SASL_SSL or SASL_PLAINTEXT (it is ${security.protocol})`);
  if (sasl && !security.sasl) throw configError('CONFIG_KAFKA_SECURITY_INVALID', 'sasl', `protocol ${security.protocol} needs ${KEY}.sasl: mechanism, usernameEnv, passwordEnv`);
  if ((security.certFile === undefined) !== (security.keyFile === undefined)) {
    throw configError('CONFIG_KAFKA_SECURITY_INVALID', security.certFile ? 'keyFile' : 'certFile', `${KEY}.certFile and keyFile go together (the client certificate and its key)`);
  }
  if (security.keyPasswordEnv && !security.keyFile) throw configError('CONFIG_KAFKA_SECURITY_INVALID', 'keyPasswordEnv', `${KEY}.keyPasswordEnv is the password of keyFile, which is not set`);
  if (security.protocol === 'PLAINTEXT') return {};

  const out: KafkaClientSecurity = { 'security.protocol': security.protocol.toLowerCase() as KafkaClientSecurity['security.protocol'] };
  if (tls) {
    out['ssl.endpoint.identification.algorithm'] = security.verifyHostname === false ? 'none' : 'https';
    if (security.caFile) out['ssl.ca.location'] = readableFile(security.caFile, 'caFile');
    if (security.certFile && security.keyFile) {
      out['ssl.certificate.location'] = readableFile(security.certFile, 'certFile');
      out['ssl.key.location'] = readableFile(security.keyFile, 'keyFile');
    }
    if (security.keyPasswordEnv) out['ssl.key.password'] = secret(env, security.keyPasswordEnv, 'keyPasswordEnv');
  }
  if (security.sasl) {
    out['sasl.mechanisms'] = security.sasl.mechanism;
    out['sasl.username'] = secret(env, security.sasl.usernameEnv, 'sasl.usernameEnv');
    out['sasl.password'] = secret(env, security.sasl.passwordEnv, 'sasl.passwordEnv');
  }
  return out;
}

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { HubError } from '../core/hubError.ts';
import { PROJECT_ROOT, describeErrors, schemaValidator } from '../core/schemaValidator.ts';
import type { HubConfig } from './hubConfig.ts';

type Json = Record<string, unknown>;

/** Well-known variables, for the quick start and container platforms. */
const NAMED_ENV: Record<string, string> = {
  KAFKA_BROKERS: 'kafka.brokers',
  MONGO_URL: 'mongo.url',
  MONGO_DB: 'mongo.database',
  HUB_API_HOST: 'api.host',
  HUB_API_PORT: 'api.port',
  HUB_API_BASE_URL: 'api.baseUrl',
  HUB_LOG_LEVEL: 'log.level',
  HUB_TIME_ZONE: 'site.timeZone',
};

export interface LoadConfigOptions {
  /** defaults file; config/default.yaml when omitted */
  defaultsFile?: string;
  /** site file merged over the defaults; HUB_CONFIG when omitted */
  siteFile?: string;
  env?: NodeJS.ProcessEnv;
  /** last-applied overrides, as dotted keys (tests use this) */
  overrides?: Record<string, unknown>;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge where objects merge and everything else (arrays included) replaces. */
/**
 * JSON Merge Patch (RFC 7396) semantics: objects merge key by key, anything else replaces, and
 * `null` removes a default (e.g. a site file drops `auth.devSecret`).
 */
export function mergeConfig(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else out[k] = isObject(v) && isObject(out[k]) ? mergeConfig(out[k] as Json, v) : v;
  }
  return out;
}

function setPath(target: Json, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let node: Json = target;
  for (const key of keys.slice(0, -1)) {
    if (!isObject(node[key])) node[key] = {};
    node = node[key] as Json;
  }
  node[keys[keys.length - 1]!] = value;
}

/** Environment values are strings; numbers, booleans and JSON arrays/objects are read as such. */
function envValue(raw: string): unknown {
  const t = raw.trim();
  if (/^-?\d+(\.\d+)?$/.test(t) || t === 'true' || t === 'false' || /^[[{]/.test(t)) {
    try {
      return JSON.parse(t);
    } catch {
      return raw;
    }
  }
  return raw;
}

function readYamlFile(file: string): Json {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new HubError('CONFIG_FILE_UNREADABLE', `cannot read config file ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw new HubError('CONFIG_FILE_INVALID_YAML', `config file ${file} is not valid YAML: ${(err as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isObject(parsed)) throw new HubError('CONFIG_FILE_INVALID_YAML', `config file ${file} must hold a mapping of keys`);
  return parsed;
}

/**
 * Loads defaults, then the site file, then environment variables, and validates the result.
 * An invalid config throws CONFIG_INVALID naming every bad key, so start-up stops with a
 * message an operator can act on.
 */
export function loadConfig(options: LoadConfigOptions = {}): HubConfig {
  const env = options.env ?? process.env;
  let config = readYamlFile(options.defaultsFile ?? path.join(PROJECT_ROOT, 'config', 'default.yaml'));
  const siteFile = options.siteFile ?? env.HUB_CONFIG;
  if (siteFile) config = mergeConfig(config, readYamlFile(siteFile));

  for (const [name, key] of Object.entries(NAMED_ENV)) {
    const v = env[name];
    if (v !== undefined && v !== '') setPath(config, key, envValue(v));
  }
  for (const [name, v] of Object.entries(env)) {
    if (!name.startsWith('HUB__') || v === undefined) continue;
    setPath(config, name.slice(5).split('__').join('.'), envValue(v));
  }
  for (const [key, v] of Object.entries(options.overrides ?? {})) setPath(config, key, v);

  const validate = schemaValidator('config.schema.json');
  if (!validate(config)) {
    const problems = describeErrors(validate.errors);
    const list = problems.map((p) => `${p.path} ${p.message}`).join('; ');
    throw new HubError('CONFIG_INVALID', `invalid configuration: ${list}`, { path: problems[0]?.path, problems });
  }
  const hub = config as unknown as HubConfig;
  const ids = new Set<string>();
  hub.connectors.forEach((c, i) => {
    if (ids.has(c.id)) throw new HubError('CONFIG_INVALID', `invalid configuration: connectors[${i}].id "${c.id}" is used twice`, { path: `connectors[${i}].id` });
    ids.add(c.id);
  });
  return hub;
}

/** The FHIR base URL the API advertises in links. */
export function apiBaseUrl(config: HubConfig): string {
  if (config.api.baseUrl) return config.api.baseUrl.replace(/\/$/, '');
  const host = config.api.host === '0.0.0.0' ? '127.0.0.1' : config.api.host;
  return `${config.api.tls ? 'https' : 'http'}://${host}:${config.api.port}/fhir`;
}

import { pino, stdTimeFunctions, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Patient data must not reach logs above debug level; these paths are redacted wherever a
 * log call passes a resource, a raw message or an HTTP body.
 */
const REDACT_PATHS = [
  'raw', '*.raw', 'body', '*.body', 'message.value', 'resource', '*.resource',
  'patient', '*.patient', 'headers.authorization', 'req.headers.authorization',
];

export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  const config: LoggerOptions = {
    level: options.level ?? process.env.HUB_LOG_LEVEL ?? 'info',
    name: options.name ?? 'hub',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
    timestamp: stdTimeFunctions.isoTime,
  };
  return pino(config);
}

/** A logger that writes nothing, for unit tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

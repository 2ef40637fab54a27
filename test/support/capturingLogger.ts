import { Writable } from 'node:stream';
import { pino, type LoggerOptions } from 'pino';
import type { Logger } from '../../hub/core/logger.ts';

/** A logger that keeps every line it writes, parsed, for tests that assert what was logged. */
export function capturingLogger(level = 'info'): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const options: LoggerOptions = { level };
  return { log: pino(options, sink), lines };
}

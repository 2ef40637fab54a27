import { loadConfig } from '../hub/config/loadConfig.ts';
import { createLogger } from '../hub/core/logger.ts';
import { isHubError } from '../hub/core/hubError.ts';
import { HubRuntime } from './hubRuntime.ts';

/** `hub serve`: every part of the hub in one process until SIGINT/SIGTERM. */
export async function serve(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`hub: ${isHubError(err) ? err.message : String(err)}\n`);
    process.exit(2);
  }
  const log = createLogger({ level: config.log.level });
  const runtime = new HubRuntime(config, log);
  try {
    await runtime.start();
  } catch (err) {
    log.fatal({ code: isHubError(err) ? err.code : 'INTERNAL', err: (err as Error).message }, 'hub failed to start');
    await runtime.stop().catch(() => undefined);
    process.exit(1);
  }
  const shutdown = async (signal: string) => {
    log.info({ signal }, 'shutting down');
    await runtime.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}



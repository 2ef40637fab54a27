import { maxTokenLifetimeOf } from '../../hub/auth/authConfig.ts';
import { DEFAULT_DEV_TOKEN_TTL_SECONDS, mintDevToken } from '../../hub/auth/devToken.ts';
import { loadConfig } from '../../hub/config/loadConfig.ts';
import type { HubConfig } from '../../hub/config/hubConfig.ts';
import { parseArgs, type Command } from './command.ts';
import { FHIR_ID } from '../../hub/core/fhirId.ts';

const USAGE = 'hub token [--scope "system/*.read"] [--subject dev-user] [--ttl 3600 (at most auth.maxTokenLifetimeSeconds)] [--patient <Patient id> (for patient/ scopes)]';

/** Prints a bearer token signed with auth.devSecret, for trying the API in the quick start. */
export async function runToken(args: string[], config: HubConfig, out: (text: string) => void): Promise<number> {
  const { options } = parseArgs(args);
  if (!config.auth?.devSecret) {
    out('hub token: auth.devSecret is not configured; get a token from your identity provider\n');
    return 1;
  }
  const max = maxTokenLifetimeOf(config.auth);
  const ttl = options.ttl === undefined ? Math.min(DEFAULT_DEV_TOKEN_TTL_SECONDS, max) : Number(options.ttl);
  if (!Number.isInteger(ttl) || ttl < 1) {
    out(`hub token: --ttl must be a positive number of seconds\nusage: ${USAGE}\n`);
    return 2;
  }
  if (ttl > max) {
    out(`hub token: --ttl ${ttl} is longer than auth.maxTokenLifetimeSeconds (${max}); the API would refuse the token\nusage: ${USAGE}\n`);
    return 2;
  }
  if (options.patient !== undefined && (typeof options.patient !== 'string' || !FHIR_ID.test(options.patient))) {
    out(`hub token: --patient must be a Patient id\nusage: ${USAGE}\n`);
    return 2;
  }
  const token = await mintDevToken(config.auth, {
    ...(typeof options.patient === 'string' ? { patient: options.patient } : {}),
    scope: typeof options.scope === 'string' ? options.scope : 'system/*.read',
    subject: typeof options.subject === 'string' ? options.subject : 'dev-user',
    ttlSeconds: ttl,
  });
  out(`${token}\n`);
  return 0;
}

export const tokenCommand: Command = {
  name: 'token',
  summary: 'print a dev bearer token for the FHIR API (signed with auth.devSecret; quick start only)',
  usage: USAGE,
  run: (args) => runToken(args, loadConfig(), (text) => process.stdout.write(text)),
};

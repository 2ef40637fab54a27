import type { HubConfig } from '../../hub/config/hubConfig.ts';
import { loadConfig } from '../../hub/config/loadConfig.ts';
import { HubError } from '../../hub/core/hubError.ts';
import { loadDataProtection } from '../../hub/crypto/dataProtection.ts';
import { sealedKeyId } from '../../hub/crypto/fieldCipher.ts';
import { addKeyToFile, createKeyFile } from '../../hub/crypto/keyFile.ts';
import { resealPatientIndex } from '../../hub/mpi/resealPatientIndex.ts';
import { connectMongo } from '../../hub/store/mongoConnection.ts';
import { resealResources, resealSourceMessages, resourceCollections, type ResealCount, type Resealer } from '../../hub/store/resealStore.ts';
import { parseArgs, type Command } from './command.ts';

const USAGE = `usage:
  hub keys init FILE        a new key file (mode 0600): one data key and the hash key
  hub keys add FILE         a new data key, made active; the older ones stay to open old data
  hub keys rotate [--dry-run]
                            with the configured encryption.keyFile: seal again with the active key
                            what an older key sealed, and seal what is still in clear (data stored
                            before encryption was enabled, types added to encryption.resourceTypes)

Rotating: keys add, restart the hub (it seals new data with the new key), keys rotate; once it
reports nothing left under the old key, and the Kafka topics' retention has passed since, the
old key may be removed from the file. The hash key is never rotated: search postings, blocking
keys and Kafka partition keys are its keyed hashes. Keep a copy of the key file: data sealed
with it cannot be read without it.`;

function line(c: ResealCount): string {
  return `${c.collection.padEnd(28)} resealed ${String(c.resealed).padStart(7)}  sealed ${String(c.sealed).padStart(7)}  skipped ${String(c.skipped).padStart(5)}`;
}

export interface KeysDeps {
  out: (text: string) => void;
  /** the configuration rotate works on (default: loadConfig()) */
  config?: HubConfig;
}

export async function runKeys(argv: string[], deps: KeysDeps): Promise<number> {
  const { positional, options } = parseArgs(argv);
  const [action, file] = positional;
  if (action === 'init' || action === 'add') {
    if (!file) throw new HubError('CLI_ARGUMENT_INVALID', `keys ${action} needs the key file's path`);
    if (action === 'init') {
      const made = createKeyFile(file);
      deps.out(`created ${file} (mode 0600): data key ${made.activeKey}, hash key ${made.hashKey}; set encryption.keyFile to it and keep a copy somewhere safe`);
    } else {
      const added = addKeyToFile(file);
      deps.out(`added data key ${added.activeKey} to ${file}, now active (was ${added.previous}); restart the hub, then run \`hub keys rotate\``);
    }
    return 0;
  }
  if (action === 'rotate') {
    const config = deps.config ?? loadConfig();
    const protection = await loadDataProtection(config.encryption);
    if (!protection) throw new HubError('CLI_ARGUMENT_INVALID', 'keys rotate needs encryption.enabled and encryption.keyFile in the configuration');
    const active = protection.cipher.activeKeyId;
    const resealer: Resealer = { protector: protection, isCurrent: (sealed) => sealedKeyId(sealed) === active, dryRun: options['dry-run'] === true };
    const mongo = await connectMongo(config.mongo.url, config.mongo.database);
    try {
      const counts: ResealCount[] = [];
      for (const collection of await resourceCollections(mongo.db)) counts.push(await resealResources(mongo.db, collection, resealer));
      counts.push(await resealSourceMessages(mongo.db, resealer), ...await resealPatientIndex(mongo.db, resealer));
      const changed = counts.filter((c) => c.resealed || c.sealed || c.skipped);
      for (const c of changed) deps.out(line(c));
      const total = changed.reduce((n, c) => n + c.resealed + c.sealed, 0);
      const skipped = changed.reduce((n, c) => n + c.skipped, 0);
      deps.out(`${resealer.dryRun ? 'would bring' : 'brought'} ${total} value(s) under key ${active}${skipped ? `; ${skipped} changed meanwhile (run again)` : ''}`);
      return skipped ? 1 : 0;
    } finally {
      await mongo.close();
    }
  }
  deps.out(USAGE);
  return 2;
}

export const keysCommand: Command = {
  name: 'keys',
  summary: 'encryption at rest: create a key file, add a key, re-seal stored data with the active key',
  usage: USAGE,
  run: (argv) => runKeys(argv, { out: (text) => process.stdout.write(`${text}\n`) }),
};

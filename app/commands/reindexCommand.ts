import { loadConfig } from '../../hub/config/loadConfig.ts';
import { loadDataProtection } from '../../hub/crypto/dataProtection.ts';
import { connectMongo } from '../../hub/store/mongoConnection.ts';
import { MongoResourceStore } from '../../hub/store/mongoResourceStore.ts';
import { SEARCHABLE_TYPES } from '../../hub/store/searchParameterTable.ts';
import type { Command } from './command.ts';

const USAGE = `usage: hub reindex [TYPE...]
  Writes the search postings of resources stored before the current posting layout (a store
  written by an older hub), type by type (default: every searchable type), with a line per type
  and a summary. Safe beside a running hub and safe to interrupt: it resumes where it stopped.`;

/**
 * The upgrade step for a store written by an older hub: its resources have no search postings
 * (or older ones) until reindexed, so searches do not find them. Reads each type's documents
 * once (a scan: an operator's job, not a hot path).
 */
export const reindexCommand: Command = {
  name: 'reindex',
  summary: 'write search postings for resources stored by an older hub',
  usage: USAGE,
  async run(args) {
    if (args.includes('--help') || args.includes('-h')) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const unknown = args.filter((a) => !SEARCHABLE_TYPES.includes(a));
    if (unknown.length) {
      process.stderr.write(`hub reindex: not a searchable type: ${unknown.join(', ')} (known: ${SEARCHABLE_TYPES.join(', ')})\n`);
      return 2;
    }
    const config = loadConfig();
    const mongo = await connectMongo(config.mongo.url, config.mongo.database);
    try {
      const protection = await loadDataProtection(config.encryption);
      const store = new MongoResourceStore(mongo.db, protection ? { protection } : {});
      const started = Date.now();
      let total = 0;
      for (const type of args.length ? args : SEARCHABLE_TYPES) {
        const n = await store.reindex(type);
        total += n;
        process.stderr.write(`${type}: ${n} reindexed\n`);
      }
      process.stdout.write(`reindexed ${total} resources in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      return 0;
    } finally {
      await mongo.close();
    }
  },
};

import type { Db } from 'mongodb';
import { MongoClient } from 'mongodb';
import { HubRuntime, type HubRuntimeOptions } from '../../app/hubRuntime.ts';
import type { HubConfig } from '../../hub/config/hubConfig.ts';
import { silentLogger } from '../../hub/core/logger.ts';
import { isolatedConfig, MONGO_URL } from './testServices.ts';

/**
 * A hub runtime for one describe block, on the real Kafka and FerretDB with topics and a
 * database of its own: started before the block's tests, stopped (and its database dropped)
 * after them. `db()` reads what the pipeline stored.
 */
export function runningHub(overrides: Record<string, unknown> = {}, options: HubRuntimeOptions = {}): { config: HubConfig; runtime: HubRuntime; db: () => Db } {
  const config = isolatedConfig(overrides);
  const runtime = new HubRuntime(config, silentLogger(), options);
  let mongo: MongoClient | undefined;
  before(async () => {
    await runtime.start();
    mongo = await new MongoClient(MONGO_URL).connect();
  });
  after(async () => {
    await runtime.stop();
    await mongo?.db(config.mongo.database).dropDatabase().catch(() => undefined);
    await mongo?.close();
  });
  return { config, runtime, db: () => mongo!.db(config.mongo.database) };
}

import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../hub/config/loadConfig.ts';
import type { HubConfig } from '../../hub/config/hubConfig.ts';

/**
 * Integration tests run against the real Kafka and MongoDB-wire servers that
 * scripts/services.sh started (or those named by KAFKA_BROKERS / MONGO_URL). Each test gets
 * its own topics, consumer group and database, so tests do not see each other's data.
 */
export const KAFKA_BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
export const MONGO_URL = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017/';

export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export function isolatedConfig(overrides: Record<string, unknown> = {}): HubConfig {
  const run = uniqueName('t');
  return loadConfig({
    env: {},
    overrides: {
      'kafka.brokers': KAFKA_BROKERS,
      'kafka.partitions': 1,
      'kafka.deliveryTimeoutMs': 5000,
      'kafka.topics': { hl7v2Inbound: `${run}.hl7v2.inbound`, fhirInbound: `${run}.fhir.inbound`, deadLetter: `${run}.deadletter` },
      'mongo.url': MONGO_URL,
      'mongo.database': run,
      'api.port': 0,
      // tests that exercise auth turn it on with their own keys (test/api/apiSecurity.it.test.ts)
      'auth.enabled': false,
      'pipeline.groupId': `${run}-normalizer`,
      'log.level': process.env.HUB_TEST_LOG_LEVEL ?? 'silent',
      connectors: [{ id: 'his-adt', kind: 'hl7v2-mllp', sourceSystem: 'HIS', host: '127.0.0.1', port: 0 }],
      ...overrides,
    },
  });
}

/** Polls until `probe` returns a value or the time runs out. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

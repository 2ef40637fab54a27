/**
 * Health gate for scripts/services.sh: a Kafka metadata reply and a MongoDB `ping`, not merely
 * an open port. Exits non-zero with the last error of each service when the timeout passes.
 */
import { waitForKafka } from '../hub/bus/kafkaHealth.ts';
import { waitForMongo } from '../hub/store/mongoHealth.ts';

const timeoutIndex = process.argv.indexOf('--timeout');
const timeoutSeconds = timeoutIndex > 0 ? Number(process.argv[timeoutIndex + 1]) : 120;
const deadline = Date.now() + timeoutSeconds * 1000;
const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const mongoUrl = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017/';

const results = await Promise.allSettled([waitForKafka(brokers, deadline), waitForMongo(mongoUrl, deadline)]);
let failed = false;
for (const [name, r] of [['kafka', results[0]], ['mongo', results[1]]] as const) {
  if (r?.status === 'rejected') {
    failed = true;
    process.stderr.write(`[services] ${name} not healthy: ${String((r.reason as Error)?.message ?? r.reason)}\n`);
  }
}
process.exit(failed ? 1 : 0);

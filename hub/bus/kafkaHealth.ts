import rdkafka from 'node-rdkafka';
import type { KafkaClientSecurity } from './kafkaSecurity.ts';

/** Asks the cluster for metadata; resolves with the broker count. `security`: kafkaSecurityProperties of `kafka.security`. */
export function kafkaMetadata(brokers: string, timeoutMs = 5000, security: KafkaClientSecurity = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const producer = new rdkafka.Producer({ 'metadata.broker.list': brokers, 'client.id': 'hub-health', 'log_level': 0, ...security });
    const finish = (err: Error | null, count?: number) => {
      producer.disconnect(() => (err ? reject(err) : resolve(count ?? 0)));
    };
    producer.connect({ timeout: timeoutMs }, (err, metadata) => {
      if (err) {
        reject(new Error(`Kafka at ${brokers}: ${err.message}`));
        return;
      }
      finish(null, metadata.brokers.length);
    });
  });
}

export async function waitForKafka(brokers: string, deadline: number): Promise<void> {
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if ((await kafkaMetadata(brokers, 3000)) > 0) return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw last instanceof Error ? last : new Error(`Kafka at ${brokers} did not answer a metadata request`);
}

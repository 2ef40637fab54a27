import type { ConnectorHealth } from './connector.ts';

/** How long after Kafka last refused or timed out a write a connector still reports `degraded`. */
export const STORE_FAILURE_DEGRADES_FOR_MS = 30_000;

/**
 * Health of a listening connector: down when not listening, degraded for a while after Kafka
 * failed a write (senders were NAKed), up otherwise.
 */
export function listenerHealth(listening: boolean, lastStoreFailure: number): ConnectorHealth {
  if (!listening) return { status: 'down', detail: 'not listening' };
  if (recentStoreFailure(lastStoreFailure)) return { status: 'degraded', detail: 'Kafka refused or timed out writes in the last 30 s' };
  return { status: 'up' };
}

export function recentStoreFailure(lastStoreFailure: number): boolean {
  return Date.now() - lastStoreFailure < STORE_FAILURE_DEGRADES_FOR_MS;
}

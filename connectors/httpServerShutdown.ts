import type { Server } from 'node:http';

/**
 * Stops accepting connections, lets requests in hand finish (their answers may be ACKs a
 * sender is waiting for), and cuts what is still open after `graceMs`.
 */
export async function closeHttpServer(server: Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  setTimeout(() => server.closeAllConnections(), graceMs).unref();
  await closed;
}

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { HubError } from '../hub/core/hubError.ts';
import { tlsServerOptions, type ListenerTls } from '../hub/core/listenerTls.ts';

// shared with the FHIR API's listener, so it lives in hub/
export { tlsServerOptions, type ListenerTls };

/** Listens and resolves with the port actually bound (the configured one may be 0). */
export async function listenOn(server: net.Server, connectorId: string, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new HubError('CONNECTOR_LISTEN_FAILED', `${connectorId}: cannot listen on ${host}:${port}: ${err.message}`)));
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return typeof address === 'object' && address ? address.port : port;
}

export function createHttpServer(tls: ListenerTls | undefined, handler: (req: IncomingMessage, res: ServerResponse) => void): http.Server {
  return tls ? https.createServer(tlsServerOptions(tls), handler) : http.createServer(handler);
}

/**
 * Stops accepting connections, lets requests in hand finish (their answers may be ACKs a
 * sender is waiting for), and cuts what is still open after `graceMs`.
 */
export async function closeHttpServer(server: http.Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  setTimeout(() => server.closeAllConnections(), graceMs).unref();
  await closed;
}

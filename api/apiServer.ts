import http from 'node:http';
import https from 'node:https';
import type express from 'express';
import { HubError } from '../hub/core/hubError.ts';
import { tlsServerOptions, type ListenerTls } from '../hub/core/listenerTls.ts';
import type { AuditTrail } from '../hub/store/mongoAuditTrail.ts';
import { answerParserRefusals } from './parserRefusals.ts';

/** The `api:` keys the listener needs (schemas/config.schema.json). */
export interface ApiListenConfig {
  host: string;
  port: number;
  /** HTTPS with these PEM files; with caFile and requestClientCert, clients must present a certificate that CA signed */
  tls?: ListenerTls;
}

/**
 * The FHIR API's listener: HTTP, or HTTPS when `api.tls` is set, with requests Node refuses
 * before express answered and audited (parserRefusals.ts). Resolves once listening.
 */
export async function listenApi(app: express.Express, config: ApiListenConfig, trail?: AuditTrail): Promise<http.Server> {
  const server = config.tls ? https.createServer(tlsServerOptions(config.tls, 'api.tls'), app) : http.createServer(app);
  answerParserRefusals(server, trail);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new HubError('API_LISTEN_FAILED', `the FHIR API cannot listen on ${config.host}:${config.port}: ${err.message}`, { path: 'api.port' })));
    server.listen(config.port, config.host, () => resolve());
  });
  return server;
}

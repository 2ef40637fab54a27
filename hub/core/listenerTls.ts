import { readFileSync } from 'node:fs';
import { HubError } from './hubError.ts';

/**
 * The `tls` option of a listener (connectors' MLLP and HTTP listeners, the FHIR API): PEM files
 * read once at start, so a bad path stops the start with the key that names it.
 */
export interface ListenerTls {
  certFile: string;
  keyFile: string;
  caFile?: string;
  /** ask for and verify a client certificate against caFile (mutual TLS) */
  requestClientCert?: boolean;
}

export interface TlsServerOptions {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  requestCert: boolean;
  rejectUnauthorized: boolean;
}

function readPem(file: string, key: string, configPath: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new HubError('CONFIG_TLS_FILE_UNREADABLE', `cannot read ${configPath}.${key} ${file}: ${(err as Error).message}`, { path: `${configPath}.${key}` });
  }
}

/** `configPath` names the option in errors (`api.tls`, `connectors.lis-results.options.tls`). */
export function tlsServerOptions(t: ListenerTls, configPath = 'tls'): TlsServerOptions {
  if (t.requestClientCert && !t.caFile) {
    // Node would fall back to the public CAs: any certificate they sign would pass as a client
    throw new HubError('CONFIG_TLS_CLIENT_CA_MISSING', `${configPath}.requestClientCert needs ${configPath}.caFile, the CA that signs client certificates`, { path: `${configPath}.caFile` });
  }
  return {
    cert: readPem(t.certFile, 'certFile', configPath), key: readPem(t.keyFile, 'keyFile', configPath),
    ...(t.caFile ? { ca: readPem(t.caFile, 'caFile', configPath) } : {}),
    requestCert: t.requestClientCert ?? false, rejectUnauthorized: t.requestClientCert ?? false,
  };
}

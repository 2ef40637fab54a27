import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TestPki {
  dir: string;
  /** the CA that signs client certificates (a listener's caFile) */
  caFile: string;
  /** the listener's own certificate (self-signed, CN=localhost) and key */
  serverCertFile: string;
  serverKeyFile: string;
  serverCert: Buffer;
  /** a client certificate and key signed by the CA, by common name */
  client(commonName: string): { cert: Buffer; key: Buffer };
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

/**
 * A throwaway PKI for mutual TLS tests: a client CA, a server certificate and client
 * certificates on demand, made with the openssl command line. Undefined when openssl is missing.
 */
export function testPki(): TestPki | undefined {
  const dir = mkdtempSync(path.join(tmpdir(), 'hub-pki-'));
  try {
    openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=hub-test-client-ca', '-keyout', 'ca.key', '-out', 'ca.pem']);
    openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.pem']);
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  return {
    dir,
    caFile: path.join(dir, 'ca.pem'),
    serverCertFile: path.join(dir, 'server.pem'),
    serverKeyFile: path.join(dir, 'server.key'),
    serverCert: readFileSync(path.join(dir, 'server.pem')),
    client(commonName) {
      const name = commonName.replace(/[^A-Za-z0-9-]/g, '_');
      openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${commonName}`, '-keyout', `${name}.key`, '-out', `${name}.csr`]);
      openssl(dir, ['x509', '-req', '-days', '1', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`]);
      return { cert: readFileSync(path.join(dir, `${name}.pem`)), key: readFileSync(path.join(dir, `${name}.key`)) };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

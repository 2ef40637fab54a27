import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { MongoClient } from 'mongodb';
import { listenApi } from '../../api/apiServer.ts';
import { createFhirApp } from '../../api/fhirApp.ts';
import { silentLogger } from '../../hub/core/logger.ts';
import { MongoResourceStore } from '../../hub/store/mongoResourceStore.ts';
import { runningHub } from '../support/runningHub.ts';
import { MONGO_URL, uniqueName } from '../support/testServices.ts';

/** Throwaway certificates made with the openssl command line: a server certificate (CN and SAN localhost) and CAs for client certificates. */
function certificates() {
  const dir = mkdtempSync(path.join(tmpdir(), 'hub-api-tls-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const selfSigned = (name: string, cn: string, ...extra: string[]) =>
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${cn}`, ...extra, '-keyout', `${name}.key`, '-out', `${name}.pem`);
  selfSigned('server', 'localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
  selfSigned('client-ca', 'hub-test-client-ca');
  selfSigned('other-ca', 'someone-else-ca');
  const client = (ca: string, cn: string) => {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', `${cn}.key`, '-out', `${cn}.csr`);
    openssl('x509', '-req', '-days', '1', '-in', `${cn}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${cn}.pem`);
    return { cert: readFileSync(path.join(dir, `${cn}.pem`)), key: readFileSync(path.join(dir, `${cn}.key`)) };
  };
  return {
    file: (name: string) => path.join(dir, name),
    serverCert: readFileSync(path.join(dir, 'server.pem')),
    crm: client('client-ca', 'crm-frontend'),
    stranger: client('other-ca', 'crm-frontend'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

interface Answer { status: number; body: string }

function get(url: string, options: https.RequestOptions = {}, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ...options, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
  });
}

async function refused(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the connection to be refused');
}

describe('FHIR API over TLS (api.tls)', function () {
  this.timeout(60_000);
  const certs = certificates();
  after(() => certs.remove());

  describe('the hub runtime with api.tls (real Kafka and FerretDB)', () => {
    const { runtime } = runningHub({
      connectors: [], 'api.tls': { certFile: certs.file('server.pem'), keyFile: certs.file('server.key') },
    }, { pipeline: false, connectors: false });

    it('serves the API over HTTPS to a client that trusts its certificate, and names an https URL', async () => {
      expect(runtime.apiUrl()).to.match(/^https:\/\/127\.0\.0\.1:\d+\/fhir$/);
      const metadata = await get(`${runtime.apiUrl()}/metadata`, { ca: certs.serverCert });
      expect(metadata.status).to.equal(200);
      expect(JSON.parse(metadata.body).resourceType).to.equal('CapabilityStatement');
      const search = await get(`${runtime.apiUrl()}/Patient?family=Nobody`, { ca: certs.serverCert });
      expect(search.status).to.equal(200);
      expect(JSON.parse(search.body).resourceType).to.equal('Bundle');
    });

    it('talks no plain HTTP on that port and is refused by a client that does not trust the certificate', async () => {
      const plain = await fetch(runtime.apiUrl().replace('https:', 'http:') + '/metadata').then((r) => r.status, (err: Error) => err);
      expect(plain).to.be.instanceOf(Error);
      const untrusted = await refused(get(`${runtime.apiUrl()}/metadata`));
      expect((untrusted as NodeJS.ErrnoException).code).to.match(/SELF_SIGNED|UNABLE_TO_VERIFY/);
    });

    it('answers headers larger than Node accepts with a 431 OperationOutcome over TLS too', async () => {
      const res = await get(`${runtime.apiUrl()}/metadata`, { ca: certs.serverCert }, { 'x-padding': 'x'.repeat(64 * 1024) });
      expect(res.status).to.equal(431);
      expect(JSON.parse(res.body).resourceType).to.equal('OperationOutcome');
    });
  });

  describe('with client certificates required (caFile + requestClientCert, real FerretDB)', () => {
    let mongo: MongoClient;
    let server: http.Server;
    const database = uniqueName('api_tls');
    let base = '';

    before(async () => {
      mongo = await new MongoClient(MONGO_URL).connect();
      const app = createFhirApp({ store: new MongoResourceStore(mongo.db(database)), log: silentLogger(), baseUrl: 'https://localhost/fhir' });
      server = await listenApi(app, {
        host: '127.0.0.1', port: 0,
        tls: { certFile: certs.file('server.pem'), keyFile: certs.file('server.key'), caFile: certs.file('client-ca.pem'), requestClientCert: true },
      });
      base = `https://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
    });
    after(async () => {
      await new Promise<void>((resolve) => { server?.close(() => resolve()); server?.closeAllConnections(); });
      await mongo?.db(database).dropDatabase().catch(() => undefined);
      await mongo?.close();
    });

    it('serves a client whose certificate the configured CA signed', async () => {
      const res = await get(`${base}/metadata`, { ca: certs.serverCert, ...certs.crm });
      expect(res.status).to.equal(200);
    });

    it('refuses the handshake without a client certificate or with one another CA signed', async () => {
      await refused(get(`${base}/metadata`, { ca: certs.serverCert }));
      await refused(get(`${base}/metadata`, { ca: certs.serverCert, ...certs.stranger }));
    });

    it('refuses to start with requestClientCert but no caFile, or with a key file it cannot read, naming the key', async () => {
      const app = createFhirApp({ store: new MongoResourceStore(mongo.db(database)), log: silentLogger(), baseUrl: 'https://localhost/fhir' });
      const noCa = await refused(listenApi(app, { host: '127.0.0.1', port: 0, tls: { certFile: certs.file('server.pem'), keyFile: certs.file('server.key'), requestClientCert: true } }));
      expect(noCa.message).to.match(/api\.tls\.requestClientCert needs api\.tls\.caFile/);
      const noKey = await refused(listenApi(app, { host: '127.0.0.1', port: 0, tls: { certFile: certs.file('server.pem'), keyFile: certs.file('missing.key') } }));
      expect(noKey.message).to.match(/cannot read api\.tls\.keyFile/);
    });
  });
});

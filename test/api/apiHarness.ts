import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MongoClient, type Db } from 'mongodb';
import { createFhirApp, type FhirAppDeps } from '../../api/fhirApp.ts';
import { silentLogger } from '../../hub/core/logger.ts';
import { MongoResourceStore } from '../../hub/store/mongoResourceStore.ts';
import type { StoredResource } from '../../hub/store/resourceStore.ts';
import { MONGO_URL, uniqueName } from '../support/testServices.ts';

type AppOptions = Partial<Omit<FhirAppDeps, 'store' | 'log' | 'baseUrl'>>;

/** The FHIR API on a free port over its own database on the real MongoDB-wire server. */
export class ApiHarness {
  readonly databaseName = uniqueName('api');
  mongo!: MongoClient;
  db!: Db;
  store!: MongoResourceStore;
  server!: Server;
  base = '';

  /** `options` may be built from the database, for deps that keep state there (export jobs) */
  async start(options: AppOptions | ((db: Db) => AppOptions) = {}): Promise<this> {
    this.mongo = await new MongoClient(MONGO_URL).connect();
    this.db = this.mongo.db(this.databaseName);
    this.store = new MongoResourceStore(this.db);
    // listen first: the base URL in Bundle links needs the port
    this.server = createServer();
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/fhir`;
    const deps = typeof options === 'function' ? options(this.db) : options;
    this.server.on('request', createFhirApp({ store: this.store, log: silentLogger(), baseUrl: this.base, ...deps }));
    return this;
  }

  async seed(resources: StoredResource[]): Promise<void> {
    for (const r of resources) await this.store.write({ resource: r });
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => { this.server?.close(() => resolve()); this.server?.closeAllConnections(); });
    await this.mongo?.close();
    // a fresh client: a test may have closed the API's own to simulate an outage
    const cleaner = await new MongoClient(MONGO_URL).connect();
    await cleaner.db(this.databaseName).dropDatabase().catch(() => undefined);
    await cleaner.close();
  }
}

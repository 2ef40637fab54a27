import { MongoClient, type Db } from 'mongodb';
import { silentLogger } from '../../../hub/core/logger.ts';
import { createPatientIndex } from '../../../hub/mpi/createPatientIndex.ts';
import type { PatientIndex } from '../../../hub/mpi/patientIndex.ts';
import type { FieldProtector } from '../../../hub/store/fieldProtector.ts';
import { MongoResourceStore } from '../../../hub/store/mongoResourceStore.ts';
import type { StoredResource } from '../../../hub/store/resourceStore.ts';
import { MONGO_URL, uniqueName } from '../../support/testServices.ts';

/** A private FerretDB database with a resource store and patient index on it. */
export class MpiTestBed {
  client!: MongoClient;
  db!: Db;
  store!: MongoResourceStore;
  index!: PatientIndex;
  readonly database = uniqueName('mpi');

  /** `protection`: encryption at rest for the store and the index (test/hub/crypto) */
  constructor(private readonly protection?: FieldProtector) {}

  async start(): Promise<this> {
    this.client = await new MongoClient(MONGO_URL).connect();
    this.db = this.client.db(this.database);
    this.store = new MongoResourceStore(this.db, this.protection ? { protection: this.protection } : {});
    this.index = await this.newIndex();
    return this;
  }

  /** Another worker on the same database (its own lease owner). */
  newIndex(): Promise<PatientIndex> {
    return createPatientIndex({ db: this.db, store: this.store, log: silentLogger(), ...(this.protection ? { protection: this.protection } : {}) });
  }

  async receive(p: StoredResource, index = this.index): Promise<string> {
    await this.store.write({ resource: p });
    return (await index.indexSource(p.id)).golden;
  }

  async stop(): Promise<void> {
    await this.db?.dropDatabase().catch(() => undefined);
    await this.client?.close();
  }
}

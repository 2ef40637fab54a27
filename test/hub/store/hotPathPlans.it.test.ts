import { expect } from 'chai';
import type { Document } from 'mongodb';
import { MongoClient, type CommandStartedEvent, type Db } from 'mongodb';
import { silentLogger } from '../../../hub/core/logger.ts';
import { createPatientIndex } from '../../../hub/mpi/createPatientIndex.ts';
import { mergeGoldens, unmerge } from '../../../hub/mpi/patientMerges.ts';
import type { PatientIndex } from '../../../hub/mpi/patientIndex.ts';
import { MongoResourceStore } from '../../../hub/store/mongoResourceStore.ts';
import type { IndexCriterion, StoredResource } from '../../../hub/store/resourceStore.ts';
import { fhirDateRange } from '../../../hub/store/fhirDateRange.ts';
import { MONGO_URL, uniqueName } from '../../support/testServices.ts';

/**
 * Every query the store and the patient index send on their hot paths (writes, searches, the
 * patient compartment, matching, merge and unmerge, the review queue) is captured from the
 * driver and explained by the server: each must be served by an index. On FerretDB that is a
 * SQLite `SEARCH ... USING INDEX` (our build, scripts/ferretdb-build); on MongoDB no COLLSCAN.
 * A new query that scans fails here, whatever its size today.
 */

interface Captured {
  collection: string;
  filter: Document;
  sort?: Document;
  limit?: number;
  command: string;
}

const READS = new Set(['find', 'count', 'delete', 'update', 'findAndModify']);

function capturedOf(e: CommandStartedEvent, database: string): Captured[] {
  if (e.databaseName !== database || !READS.has(e.commandName)) return [];
  const c = e.command;
  switch (e.commandName) {
    case 'find': return [{ command: 'find', collection: c.find, filter: c.filter ?? {}, ...(c.sort ? { sort: c.sort } : {}), ...(c.limit ? { limit: c.limit } : {}) }];
    case 'count': return [{ command: 'count', collection: c.count, filter: c.query ?? {} }];
    case 'delete': return (c.deletes as Array<{ q: Document }>).map((d) => ({ command: 'delete', collection: c.delete, filter: d.q }));
    case 'update': return (c.updates as Array<{ q: Document }>).map((u) => ({ command: 'update', collection: c.update, filter: u.q }));
    case 'findAndModify': return [{ command: 'findAndModify', collection: c.findAndModify, filter: c.query ?? {} }];
    default: return [];
  }
}

function servedByIndex(reply: Document): boolean {
  if (reply.serverInfo?.ferretdbVersion !== undefined) {
    const plan: string[] = reply.queryPlanner?.Plan ?? [];
    return plan.length > 0 && plan.every((line) => !/ SCAN /.test(line)) && plan.some((line) => / USING (COVERING )?INDEX /.test(line));
  }
  return !/COLLSCAN/.test(JSON.stringify(reply.queryPlanner?.winningPlan ?? {}));
}

const patient = (id: string, family: string, given: string, birthDate: string, mrn: string, system = 'urn:his:mrn'): StoredResource => ({
  resourceType: 'Patient', id, identifier: [{ system, value: mrn }], name: [{ family, given: [given] }], birthDate, gender: 'female',
  telecom: [{ system: 'phone', value: `1380000${mrn.slice(-4)}` }], meta: { source: 'urn:hub:source/HIS#t' },
} as StoredResource);

const obs = (id: string, subject: string): StoredResource => ({
  resourceType: 'Observation', id, status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '718-7' }] },
  subject: { reference: `Patient/${subject}` }, effectiveDateTime: '2026-03-01T08:00:00Z', valueQuantity: { value: 13, unit: 'g/dL' },
} as StoredResource);

describe('Hot paths are index reads (real MongoDB-wire server, query plans)', function () {
  this.timeout(120_000);
  let client: MongoClient;
  let db: Db;
  let store: MongoResourceStore;
  let index: PatientIndex;
  const database = uniqueName('hotpath');
  const captured: Captured[] = [];

  before(async () => {
    client = await new MongoClient(MONGO_URL, { monitorCommands: true }).connect();
    client.on('commandStarted', (e) => captured.push(...capturedOf(e, database)));
    db = client.db(database);
    store = new MongoResourceStore(db);
    index = await createPatientIndex({ db, store, log: silentLogger() });
  });
  after(async () => {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  });

  it('writes, searches, matches, merges and unmerges without a query that scans', async () => {
    // enough rows that a scan and an index lookup are different plans
    const people = Array.from({ length: 60 }, (_, i) => patient(`p${i}`, i % 2 ? 'Zhang' : 'Wang', `Given${i}`, `19${50 + (i % 40)}-0${1 + (i % 9)}-1${i % 10}`, `MRN${1000 + i}`));
    await store.writeMany(people.map((resource) => ({ resource })));
    await store.writeMany(people.map((p, i) => ({ resource: obs(`o${i}`, p.id) })));
    for (const p of people.slice(0, 20)) await index.indexSource(p.id);
    // the same person from another feed: matched against the first
    await store.write({ resource: patient('lis-p1', 'Zhang', 'Given1', '1951-02-11', 'L1', 'urn:lis:mrn') });
    const linked = await index.indexSource('lis-p1');
    await store.write({ resource: { ...people[1]!, gender: 'male' } as StoredResource }); // an update: postings move
    await store.repair([{ type: 'Patient', id: 'p1' }]);

    const date = fhirDateRange('1951-02-11')!;
    const searches: IndexCriterion[][] = [
      [{ param: 'family', anyOf: [{ kind: 'string', value: 'zha', mode: 'prefix' }] }],
      [{ param: 'identifier', anyOf: [{ kind: 'entry', value: 'urn:his:mrn|MRN1001' }] }],
      [{ param: 'birthdate', anyOf: [{ kind: 'date', prefix: 'eq', range: date }] }, { param: 'family', anyOf: [{ kind: 'string', value: 'zhang', mode: 'exact' }] }],
      [{ param: 'phone', anyOf: [{ kind: 'entry', value: '13800001001' }] }],
      [{ param: 'gender', anyOf: [{ kind: 'entry', value: 'female' }] }, { param: 'family', anyOf: [{ kind: 'string', value: 'wang', mode: 'prefix' }] }],
      [{ param: '_id', anyOf: [{ kind: 'entry', value: 'p3' }, { kind: 'entry', value: 'p4' }] }],
    ];
    for (const where of searches) {
      const found = await store.search('Patient', { criteria: [], where, count: 10, total: true });
      expect(found.resources.length, JSON.stringify(where)).to.be.greaterThan(0);
    }
    expect((await store.search('Observation', { criteria: [], where: [{ param: 'patient', anyOf: [{ kind: 'entry', value: 'Patient/p5' }] }, { param: 'code', anyOf: [{ kind: 'entry', value: '718-7' }] }], count: 10 })).resources).to.have.length(1);
    expect(await store.inPatientCompartment('Observation', ['Patient/p1', 'Patient/p2'])).to.have.length(2);
    expect((await store.search('Patient', { criteria: [], count: 5, total: true })).total).to.be.greaterThan(60);
    await store.historyPage('Patient', { id: 'p1', offset: 0, count: 10 });

    // merge and unmerge two golden records, and the review queue
    const a = (await index.indexSource('p10')).golden;
    const b = (await index.indexSource('p12')).golden;
    const merged = await mergeGoldens(index, b, a, 'tester', 'same person');
    await unmerge(index, merged.mergeId, 'tester', 'not the same');
    await index.repo.listReviews({ status: 'OPEN', count: 10 });
    await index.repo.listReviews({ golden: linked.golden, count: 10 });

    const shapes = new Map<string, Captured>();
    for (const c of captured) {
      if (c.collection === 'mpi_audit' || c.collection.endsWith('_history') && !JSON.stringify(c.filter).includes('_id')) continue;
      shapes.set(`${c.command} ${c.collection} ${JSON.stringify(shape(c.filter))} ${JSON.stringify(c.sort ?? {})}`, c);
    }
    expect(shapes.size).to.be.greaterThan(15);
    const scans: string[] = [];
    for (const [key, c] of shapes) {
      const reply = await db.command({ explain: { find: c.collection, filter: c.filter, ...(c.sort ? { sort: c.sort } : {}), ...(c.limit ? { limit: c.limit } : {}) } });
      if (!servedByIndex(reply)) scans.push(`${key}: ${JSON.stringify(reply.queryPlanner)}`);
    }
    expect(scans, scans.join('\n')).to.deep.equal([]);
  });
});

/** A filter with its values replaced by their types, so one query shape is explained once. */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.length ? [shape(v[0])] : [];
  if (v && typeof v === 'object' && !(v instanceof Date)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]));
  return typeof v;
}

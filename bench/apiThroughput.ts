/**
 * FHIR API throughput: requests/second and p50/p99 latency for a Patient read, a Patient name
 * search and Patient/$everything, against FerretDB seeded with N patients (each, or each Kth with
 * --records-every K, with two Encounters, four Observations and a Condition). Server (with bearer auth and the audit trail
 * on, as in production) and load generator (autocannon) run in this one process.
 *
 *   npx tsx bench/apiThroughput.ts [--patients 10000] [--duration 10] [--connections 10]
 *     [--slow-requests 40] [--slow-connections 10] [--timeout 120] [--keep] [--seed-only]
 *     [--records-every 1] [--only read,search,search-no-total,everything]
 *
 * Seeding writes the documents the store's write path would (search entries included) with
 * insertMany, to spend the time on the API rather than on loading. Needs FerretDB (or MONGO_URL).
 */
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import { apiSecurity } from '../api/apiSecurity.ts';
import { createFhirApp } from '../api/fhirApp.ts';
import { mintDevToken } from '../hub/auth/devToken.ts';
import { silentLogger } from '../hub/core/logger.ts';
import { firstVersionDocument, MongoResourceStore } from '../hub/store/mongoResourceStore.ts';
import type { StoredResource } from '../hub/store/resourceStore.ts';

const { values } = parseArgs({
  options: {
    patients: { type: 'string', default: '10000' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '10' },
    // searches and $everything scan collections on FerretDB: a fixed number of requests, not a duration
    'slow-requests': { type: 'string', default: '40' },
    // fewer at once for scans at 1M patients, so a figure is the scan and not the queue before it
    'slow-connections': { type: 'string' },
    timeout: { type: 'string', default: '120' },
    keep: { type: 'boolean', default: false },
    // seed (or find seeded) and stop: at 1M patients seeding takes most of an hour
    'seed-only': { type: 'boolean', default: false },
    // clinical records for every Kth patient only: seeding 8M documents into FerretDB takes hours
    'records-every': { type: 'string', default: '1' },
    // a comma-separated subset of: read,search,search-no-total,everything
    only: { type: 'string' },
  },
});
const patients = Number(values.patients);
const duration = Number(values.duration);
const connections = Number(values.connections);
const slowRequests = Number(values['slow-requests']);
const slowConnections = Number(values['slow-connections'] ?? values.connections);
const timeoutSeconds = Number(values.timeout);
const mongoUrl = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017/';
const recordsEvery = Math.max(1, Number(values['records-every']));
const dbName = `bench_api_${patients}${recordsEvery > 1 ? `_r${recordsEvery}` : ''}`;
/** a patient that has clinical records, for $everything */
const patientWithRecords = (n: number): string => `bp${((n * 7919) % Math.ceil(patients / recordsEvery)) * recordsEvery}`;
const auth = { enabled: true, issuer: 'urn:hub:bench', audience: 'urn:hub:bench-api', devSecret: 'bench-secret-0123456789abcdef' };

const FAMILIES = ['Wang', 'Li', 'Zhang', 'Liu', 'Chen', 'Yang', 'Huang', 'Zhao', 'Wu', 'Zhou', 'Xu', 'Sun', 'Ma', 'Zhu', 'Hu', 'Guo', 'He', 'Lin', 'Gao', 'Luo',
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Müller', 'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Meyer', 'Wagner', 'Becker'];
const GIVEN = ['Wei', 'Fang', 'Min', 'Jing', 'Lei', 'Yan', 'Jun', 'Tao', 'Anna', 'James', 'Maria', 'Peter', 'Lena', 'Paul', 'Sofia', 'Lukas'];
const WARDS = ['cardiology', 'orthopedics', 'oncology', 'neurology', 'pediatrics', 'surgery'];
const LABS: Array<[string, string, number, string]> = [['718-7', 'Hemoglobin', 13, 'g/dL'], ['2345-7', 'Glucose', 5.5, 'mmol/L'], ['2160-0', 'Creatinine', 80, 'umol/L'], ['6690-2', 'WBC', 7, '10*9/L']];

function rand<T>(list: T[], i: number, salt: number): T {
  return list[(i * 7919 + salt * 104729) % list.length]!;
}

function recordsOf(i: number): StoredResource[] {
  const pid = `bp${i}`;
  const year = 1930 + (i % 90);
  const out: StoredResource[] = [{
    resourceType: 'Patient', id: pid,
    identifier: [{ system: 'urn:oid:2.16.840.1.113883.19.5', value: `MRN${String(i).padStart(8, '0')}` }],
    name: [{ family: rand(FAMILIES, i, 1), given: [rand(GIVEN, i, 2)] }],
    gender: i % 2 ? 'male' : 'female', birthDate: `${year}-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`,
    telecom: [{ system: 'phone', value: `138${String(i).padStart(8, '0')}` }],
    address: [{ city: rand(['Shanghai', 'Beijing', 'Berlin', 'Boston'], i, 3), postalCode: String(100000 + (i % 900)) }],
  } as StoredResource];
  if (i % recordsEvery !== 0) return out;
  for (let e = 0; e < 2; e += 1) {
    const start = `2026-${String(1 + ((i + e * 5) % 12)).padStart(2, '0')}-10T08:00:00+08:00`;
    out.push({
      resourceType: 'Encounter', id: `${pid}-e${e}`, status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
      subject: { reference: `Patient/${pid}` }, period: { start, end: start.replace('T08', 'T18') },
      location: [{ location: { reference: `Location/${rand(WARDS, i, e)}` } }], serviceProvider: { reference: 'Organization/demo-hospital' },
    } as StoredResource);
  }
  for (let o = 0; o < 4; o += 1) {
    const [code, display, base, unit] = LABS[o]!;
    out.push({
      resourceType: 'Observation', id: `${pid}-o${o}`, status: 'final', code: { coding: [{ system: 'http://loinc.org', code, display }] },
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
      subject: { reference: `Patient/${pid}` }, effectiveDateTime: '2026-03-10T09:00:00+08:00',
      valueQuantity: { value: base + (i % 10) / 10, unit, system: 'http://unitsofmeasure.org', code: unit },
    } as StoredResource);
  }
  out.push({
    resourceType: 'Condition', id: `${pid}-c0`, subject: { reference: `Patient/${pid}` },
    code: { coding: [{ system: 'http://snomed.info/sct', code: '38341003', display: 'Hypertension' }] }, recordedDate: '2025-05-01',
  } as StoredResource);
  return out;
}

async function seed(client: MongoClient): Promise<void> {
  const db = client.db(dbName);
  // a marker written last, by _id: counting documents scans the collection on FerretDB (~4 min at 1M)
  const meta = db.collection<{ _id: string; patients: number }>('bench_meta');
  if ((await meta.findOne({ _id: 'seeded' }))?.patients === patients) {
    console.log(`reusing ${dbName} (${patients} patients)`);
    return;
  }
  await db.dropDatabase();
  const started = Date.now();
  const batches = new Map<string, ReturnType<typeof firstVersionDocument>[]>();
  const flush = async (type: string): Promise<void> => {
    const docs = batches.get(type) ?? [];
    if (docs.length) await db.collection(type).insertMany(docs as never[], { ordered: false });
    batches.set(type, []);
  };
  const now = new Date();
  const progressEvery = Math.max(10_000, Math.round(patients / 20));
  let written = 0;
  for (let i = 0; i < patients; i += 1) {
    if (i > 0 && i % progressEvery === 0) {
      const secs = (Date.now() - started) / 1000;
      console.log(`seeding: ${i}/${patients} patients, ${Math.round(written / secs)} resources/s, ~${Math.round(((patients - i) * secs) / i)} s left`);
    }
    for (const r of recordsOf(i)) {
      written += 1;
      const list = batches.get(r.resourceType) ?? [];
      list.push(firstVersionDocument(r, now));
      batches.set(r.resourceType, list);
      if (list.length >= 2000) await flush(r.resourceType);
    }
  }
  for (const type of [...batches.keys()]) await flush(type);
  // the patient postings the store's write keeps (hub/store/patientPostings.ts)
  const postings: Array<{ _id: string; ids: string[] }> = [];
  for (let i = 0; i < patients; i += 1) {
    const byType = new Map<string, string[]>();
    for (const r of recordsOf(i).filter((x) => x.resourceType !== 'Patient')) byType.set(r.resourceType, [...(byType.get(r.resourceType) ?? []), r.id]);
    for (const [type, ids] of byType) postings.push({ _id: `${type}|Patient/bp${i}`, ids });
    if (i > 0 && i % progressEvery === 0) console.log(`postings: ${i}/${patients} patients`);
    if (postings.length >= 3000) await db.collection('patient_postings').insertMany(postings.splice(0) as never[]);
  }
  if (postings.length) await db.collection('patient_postings').insertMany(postings as never[]);
  await meta.insertOne({ _id: 'seeded', patients });
  const secs = (Date.now() - started) / 1000;
  console.log(`seeded ${patients} patients (${written} resources, ${Math.round(written / secs)}/s) in ${secs.toFixed(0)} s`);
}

interface CannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
  /** seconds */
  duration: number;
}

async function main(): Promise<void> {
  const client = await new MongoClient(mongoUrl).connect();
  await seed(client);
  if (values['seed-only']) {
    await client.close();
    return;
  }
  const db = client.db(dbName);
  const store = new MongoResourceStore(db);
  const log = silentLogger();
  const security = await apiSecurity({ auth, api: { host: '127.0.0.1' } }, db, log);
  const app = createFhirApp({ store, log, baseUrl: 'http://127.0.0.1/fhir', ...security.deps });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
  const token = await mintDevToken(auth, { scope: 'system/*.read', ttlSeconds: 3600 });
  const { default: autocannon } = await import('autocannon');

  let n = 0;
  const all: Array<[string, string, () => string, boolean]> = [
    ['read', 'read Patient/{id}', () => `/fhir/Patient/bp${(n++ * 7919) % patients}`, false],
    ['search', 'search Patient?family={prefix}&_count=20', () => `/fhir/Patient?family=${encodeURIComponent(FAMILIES[n++ % FAMILIES.length]!.slice(0, 4))}&_count=20`, true],
    ['search-no-total', 'search Patient?family={prefix}&_count=20&_total=none', () => `/fhir/Patient?family=${encodeURIComponent(FAMILIES[n++ % FAMILIES.length]!.slice(0, 4))}&_count=20&_total=none`, true],
    ['everything', 'Patient/{id}/$everything', () => `/fhir/Patient/${patientWithRecords(n++)}/$everything`, true],
  ];
  const only = values.only?.split(',');
  const scenarios = all.filter(([key]) => !only || only.includes(key));
  console.log(`\n${patients} patients; reads: ${connections} connections for ${duration} s; others: ${slowRequests} requests over ${slowConnections} connections; auth + audit on\n`);
  console.log('| request | req/s | p50 ms | p99 ms | requests | non-2xx |');
  console.log('|---|---|---|---|---|---|');
  for (const [, name, path, slow] of scenarios) {
    const began = performance.now();
    const result = await autocannon({
      url: base.replace(/\/fhir$/, ''), connections: slow ? slowConnections : connections, timeout: timeoutSeconds,
      ...(slow ? { amount: slowRequests } : { duration }),
      headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' },
      requests: [{ method: 'GET', setupRequest: (req: Record<string, unknown>) => ({ ...req, path: path() }) }],
    }) as CannonResult;
    // autocannon reports whole seconds; a fixed number of requests is timed here
    const rate = slow ? result.requests.total / ((performance.now() - began) / 1000) : result.requests.average;
    console.log(`| ${name} | ${rate.toFixed(1)} | ${result.latency.p50} | ${result.latency.p99} | ${result.requests.total} | ${result.non2xx + result.errors} |`);
  }
  const closing = performance.now();
  await new Promise((r) => server.close(r));
  server.closeAllConnections();
  await security.close();
  console.log(`\nshut down (audit trail flushed) in ${((performance.now() - closing) / 1000).toFixed(1)} s`);
  const audited = await db.collection('AuditEvent').estimatedDocumentCount();
  console.log(`\naudit events stored: ${audited}`);
  if (!values.keep) await db.dropDatabase();
  await client.close();
}

await main();

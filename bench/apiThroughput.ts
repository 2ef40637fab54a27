/**
 * FHIR API throughput: requests/second and p50/p99 latency for a Patient read, a Patient name
 * search and Patient/$everything, against FerretDB seeded with N patients (each, or each Kth with
 * --records-every K, with two Encounters, four Observations and a Condition). Server (with bearer auth and the audit trail
 * on, as in production) and load generator (autocannon) run in this one process.
 *
 *   npx tsx bench/apiThroughput.ts [--patients 10000] [--duration 10] [--connections 10]
 *     [--slow-requests 40] [--slow-connections 10] [--timeout 120] [--keep] [--seed-only]
 *     [--records-every 1] [--only read,identifier,search,search-no-total,given,phone,birthdate,clinical,has,everything]
 *
 * Seeding writes the documents the store's write path would (current documents and search
 * postings) with insertMany, resumably, to spend the time on the API rather than on loading.
 * Needs FerretDB (or MONGO_URL).
 */
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import { apiSecurity } from '../api/apiSecurity.ts';
import { createFhirApp } from '../api/fhirApp.ts';
import { mintDevToken } from '../hub/auth/devToken.ts';
import { silentLogger } from '../hub/core/logger.ts';
import { firstVersionDocument, MongoResourceStore } from '../hub/store/mongoResourceStore.ts';
import { POSTINGS_COLLECTION } from '../hub/store/postingStore.ts';
import type { StoredResource } from '../hub/store/resourceStore.ts';

const { values } = parseArgs({
  options: {
    patients: { type: 'string', default: '10000' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '10' },
    // slower requests (prefix searches, _has, $everything): a fixed number of requests, not a duration
    'slow-requests': { type: 'string', default: '40' },
    // fewer at once for scans at 1M patients, so a figure is the scan and not the queue before it
    'slow-connections': { type: 'string' },
    timeout: { type: 'string', default: '120' },
    keep: { type: 'boolean', default: false },
    // seed (or find seeded) and stop: at 1M patients seeding takes most of an hour
    'seed-only': { type: 'boolean', default: false },
    // clinical records for every Kth patient only: seeding 8M documents into FerretDB takes hours
    'records-every': { type: 'string', default: '1' },
    // a comma-separated subset of the request names below
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
// v2: birth dates spread over every day (the first layout repeated 1,260 dates)
const dbName = `bench_api2_${patients}${recordsEvery > 1 ? `_r${recordsEvery}` : ''}`;
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

/** Births spread over every day of 90 years, as a hospital's patients are (~30 a day at 1M). */
function birthDateOf(i: number): string {
  return new Date(Date.UTC(1930, 0, 1) + ((i * 7919) % 32_871) * 86_400_000).toISOString().slice(0, 10);
}

function recordsOf(i: number): StoredResource[] {
  const pid = `bp${i}`;
  const out: StoredResource[] = [{
    resourceType: 'Patient', id: pid,
    identifier: [{ system: 'urn:oid:2.16.840.1.113883.19.5', value: `MRN${String(i).padStart(8, '0')}` }],
    name: [{ family: rand(FAMILIES, i, 1), given: [rand(GIVEN, i, 2)] }],
    gender: i % 2 ? 'male' : 'female', birthDate: birthDateOf(i),
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

/**
 * Writes what the store's write path would for each patient (current documents and their search
 * postings; no history copies, which none of these requests read) with insertMany, in chunks of
 * patients; a marker records the last chunk, so an interrupted seed resumes where it stopped.
 */
async function seed(client: MongoClient): Promise<void> {
  const db = client.db(dbName);
  const meta = db.collection<{ _id: string; patients: number; done: number }>('bench_meta');
  const marker = await meta.findOne({ _id: 'seeded' });
  if (marker && marker.patients === patients && marker.done >= patients) {
    console.log(`reusing ${dbName} (${patients} patients)`);
    return;
  }
  let done = marker?.patients === patients ? marker.done : 0;
  if (done === 0) await db.dropDatabase();
  const started = Date.now();
  const from = done;
  const now = new Date();
  const chunk = 2000;
  let resources = 0;
  let postingCount = 0;
  let lastReport = Date.now();
  const insert = async (name: string, docs: unknown[]): Promise<void> => {
    for (let i = 0; i < docs.length; i += 5000) {
      try {
        await db.collection(name).insertMany(docs.slice(i, i + 5000) as never[], { ordered: false });
      } catch (err) {
        // a resumed chunk meets what the interrupted one had written
        if ((err as { code?: number; writeErrors?: unknown[] }).code !== 11000 && !(err as { writeErrors?: unknown[] }).writeErrors) throw err;
      }
    }
  };
  while (done < patients) {
    const byType = new Map<string, unknown[]>();
    const postings: Array<{ _id: string }> = [];
    for (let i = done; i < Math.min(patients, done + chunk); i += 1) {
      for (const r of recordsOf(i)) {
        const { doc, postings: ids } = firstVersionDocument(r, now);
        byType.set(r.resourceType, [...(byType.get(r.resourceType) ?? []), doc]);
        for (const _id of ids) postings.push({ _id });
        resources += 1;
      }
    }
    await insert(POSTINGS_COLLECTION, postings);
    for (const [type, docs] of byType) await insert(type, docs);
    postingCount += postings.length;
    done = Math.min(patients, done + chunk);
    await meta.replaceOne({ _id: 'seeded' }, { patients, done }, { upsert: true });
    if (Date.now() - lastReport > 10_000 || done === patients) {
      lastReport = Date.now();
      const secs = (Date.now() - started) / 1000;
      const rate = (done - from) / secs;
      console.log(`seeding: ${done}/${patients} patients, ${Math.round((resources + postingCount) / secs)} documents/s, ~${Math.round((patients - done) / rate / 60)} min left`);
    }
  }
  const secs = (Date.now() - started) / 1000;
  console.log(`seeded ${patients - from} patients (${resources} resources, ${postingCount} postings) in ${(secs / 60).toFixed(1)} min`);
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
  const pick = () => (n++ * 7919) % patients;
  const family = () => encodeURIComponent(rand(FAMILIES, pick(), 1).slice(0, 4));
  const all: Array<[string, string, () => string, boolean]> = [
    ['read', 'read Patient/{id}', () => `/fhir/Patient/bp${pick()}`, false],
    ['identifier', 'Patient?identifier={system}|{MRN}', () => `/fhir/Patient?identifier=${encodeURIComponent(`urn:oid:2.16.840.1.113883.19.5|MRN${String(pick()).padStart(8, '0')}`)}`, false],
    ['search', 'Patient?family={4 letters}&_count=20', () => `/fhir/Patient?family=${family()}&_count=20`, true],
    ['search-no-total', 'Patient?family={4 letters}&_count=20&_total=none', () => `/fhir/Patient?family=${family()}&_count=20&_total=none`, true],
    ['given', 'Patient?given={name}&_count=20', () => `/fhir/Patient?given=${encodeURIComponent(rand(GIVEN, pick(), 2))}&_count=20`, true],
    ['phone', 'Patient?phone={number}', () => `/fhir/Patient?phone=138${String(pick()).padStart(8, '0')}`, false],
    ['birthdate', 'Patient?birthdate={day}&family={4 letters}', () => { const i = pick(); return `/fhir/Patient?birthdate=${birthDateOf(i)}&family=${encodeURIComponent(rand(FAMILIES, i, 1).slice(0, 4))}`; }, false],
    ['clinical', 'Observation?patient={id}&code=718-7', () => `/fhir/Observation?patient=${patientWithRecords(n++)}&code=718-7`, false],
    ['has', 'Patient?_has:Encounter:patient:location=Location/{ward}&_count=20', () => `/fhir/Patient?_has:Encounter:patient:location=Location/${rand(WARDS, n++, 0)}&_count=20`, true],
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

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { MongoClient, type Db, type Document } from 'mongodb';
import type { CurrentDoc } from '../hub/store/mongoResourceStore.ts';

/**
 * FerretDB 1.24's two backends on the same generated documents (issue 12): the shipped SQLite
 * build, and PostgreSQL. One run measures one MongoDB-wire server:
 *   npx tsx bench/storeBackends.ts --url mongodb://127.0.0.1:27017/ --label sqlite \
 *     [--sizes 10000,100000] [--cpu-pids PID,...] [--psql postgres://...] [--json out.json]
 * (`--sizes 0`: writes only), and `--report a.json,b.json` prints runs side by side as one
 * markdown table. On 2 shared cores, compare runs taken at the same load (alternate them).
 *
 * - writes: current resource documents (CurrentDoc with a ~1 KB Patient) by insertMany of 100
 *   and insertOne with 10 in flight; posting documents `{_id}` by insertMany of 1000;
 * - reads at N stored resources and N postings, one request at a time: findOne by `_id`, `_id`
 *   `$in` 20, a posting `_id` range sorted and limited to 20, `count` of a ~1% posting range,
 *   and equality on fields other than `_id` (unselective `resource.gender`, selective
 *   `resource.birthDate` and top-level `contentHash`), each with the server's query plan;
 * - store CPU: user+system time of the given processes and their descendants (/proc), per
 *   operation or document, so a server shared with other work shows up as such.
 * With `--psql` (FerretDB's PostgreSQL database), writes and the equality reads are measured
 * again with GIN indexes created in SQL, and the SQL a `_id` pushdown patch would send
 * (btree on `_jsonb->'_id'`) is timed in psql alone, as a bound for such a patch.
 * FerretDB sends the field name as a parameter (`_jsonb->$1 @> $2`): after five executions of a
 * cached statement PostgreSQL may switch to a generic plan, which no expression index matches
 * (seen at 2,000 documents), so run the PostgreSQL side with `ALTER DATABASE ... SET
 * plan_cache_mode = force_custom_plan` before FerretDB connects.
 * Everything is written to its own database, dropped at the end.
 */

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017/' },
    label: { type: 'string', default: 'store' },
    sizes: { type: 'string', default: '10000,100000' },
    'cpu-pids': { type: 'string', default: '' },
    psql: { type: 'string' },
    json: { type: 'string' },
    report: { type: 'string' },
    seconds: { type: 'string', default: '3' },
  },
});

interface Row {
  op: string;
  /** stored documents when measured; 0 for the write tests on empty collections */
  size: number;
  /** column of the report: the run's label, plus the variant (e.g. `+gin`) */
  column: string;
  kind: 'write' | 'read';
  /** documents/s for writes, operations/s for reads */
  rate: number;
  p50?: number;
  p99?: number;
  /** store CPU ms per document (writes) or per operation (reads), when pids were given */
  cpuMs?: number;
  plan?: string;
}

// ---------- generated data: the same on every backend (deterministic in the index) ----------

const FAMILIES = Array.from({ length: 100 }, (_, i) => `${['Wang', 'Li', 'Zhang', 'Liu', 'Chen', 'Yang', 'Huang', 'Zhao', 'Wu', 'Zhou'][i % 10]}${['', 'an', 'er', 'ing', 'ou', 'ei', 'ao', 'un', 'ia', 'ong'][Math.floor(i / 10)]}`);
const GIVEN = ['Wei', 'Fang', 'Na', 'Min', 'Jing', 'Lei', 'Qiang', 'Yan', 'Jun', 'Hui', 'Xiu', 'Ying'];
const CITIES = ['Beijing', 'Shanghai', 'Guangzhou', 'Shenzhen', 'Chengdu', 'Hangzhou', 'Wuhan', 'Nanjing'];

/** A number in [0, 1) from a key: every choice depends only on (index, what for). */
function unit(key: string): number {
  return createHash('sha256').update(key).digest().readUInt32BE(0) / 2 ** 32;
}
const pick = <T>(list: readonly T[], key: string): T => list[Math.floor(unit(key) * list.length)]!;

/** Resource ids are uuid-like and unordered, as the hub's are (inserts land all over the index). */
function patientId(i: number): string {
  const h = createHash('sha1').update(`patient-${i}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
const familyOf = (i: number): string => pick(FAMILIES, `family-${i}`);
/** ~36,500 distinct days, so a birthDate matches a handful of patients at 100k */
function birthDateOf(i: number): string {
  const day = Math.floor(unit(`birth-${i}`) * 36_500);
  return new Date(Date.UTC(1925, 0, 1) + day * 86_400_000).toISOString().slice(0, 10);
}
const genderOf = (i: number): string => (unit(`gender-${i}`) < 0.5 ? 'female' : 'male');

function patientDoc(i: number): CurrentDoc {
  const id = patientId(i);
  const family = familyOf(i);
  const given = [pick(GIVEN, `g1-${i}`), pick(GIVEN, `g2-${i}`)];
  const city = pick(CITIES, `city-${i}`);
  const at = new Date(Date.UTC(2026, 0, 1) + i * 1000);
  const resource = {
    resourceType: 'Patient' as const,
    id,
    meta: { versionId: '1', lastUpdated: at.toISOString(), source: `urn:hub:source/HIS#msg-${i}`, profile: ['http://hl7.org/fhir/StructureDefinition/Patient'] },
    identifier: [
      { use: 'usual' as const, type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR', display: 'Medical record number' }] }, system: 'urn:hub:identifier/HIS/MR', value: `MR${String(i).padStart(9, '0')}` },
      { use: 'official' as const, type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'NI', display: 'National unique individual identifier' }] }, system: 'urn:oid:2.16.156.10011.1.1', value: `11010119${String(i).padStart(10, '0')}` },
    ],
    active: true,
    name: [{ use: 'official' as const, text: `${family} ${given.join(' ')}`, family, given }],
    telecom: [
      { system: 'phone' as const, value: `+86-138-${String(i % 10_000).padStart(4, '0')}-${String((i * 7) % 10_000).padStart(4, '0')}`, use: 'mobile' as const },
      { system: 'email' as const, value: `patient${i}@example.org`, use: 'home' as const },
    ],
    gender: genderOf(i) as 'female' | 'male',
    birthDate: birthDateOf(i),
    address: [{ use: 'home' as const, line: [`${(i % 300) + 1} Renmin Road`, `Building ${(i % 20) + 1}, Room ${(i % 900) + 100}`], city, district: `${city} District ${(i % 9) + 1}`, state: city, postalCode: String(100000 + (i % 899_999)), country: 'CN' }],
    maritalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'M', display: 'Married' }] },
    communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'zh-CN', display: 'Chinese (China)' }] }, preferred: true }],
  };
  return { _id: id, resource, versionId: 1, lastUpdated: at, contentHash: contentHashOf(i, resource) };
}

function contentHashOf(i: number, resource?: unknown): string {
  return createHash('sha256').update(JSON.stringify(resource ?? patientDoc(i).resource)).digest('hex');
}

/** One posting per patient, `Patient|family|<family>|<id>` (postingKeys.ts): a family is ~1% of them. */
const postingId = (i: number): string => `Patient|family|${familyOf(i)}|${patientId(i)}`;
const familyRange = (family: string) => ({ $gte: `Patient|family|${family}|`, $lt: `Patient|family|${family}|\u{10FFFF}` });

// ---------- store CPU from /proc ----------

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const rootPids = values['cpu-pids'].split(',').map(Number).filter((n) => n > 0);

/**
 * CPU ms of the given processes and all their descendants. A process's own time plus the time of
 * its children it has reaped counts every CPU second once (a reaped PostgreSQL backend moves into
 * the postmaster's cutime).
 */
function storeCpuMs(): number | undefined {
  if (rootPids.length === 0) return undefined;
  const procs = new Map<number, { ppid: number; ticks: number }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    procs.set(Number(name), { ppid: Number(f[1]), ticks });
  }
  const inTree = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
      if (rootPids.includes(p)) return true;
      p = procs.get(p)?.ppid ?? 0;
    }
    return false;
  };
  let ticks = 0;
  for (const [pid, p] of procs) if (inTree(pid)) ticks += p.ticks;
  return (ticks * 1000) / CLK_TCK;
}

// ---------- measuring ----------

const budgetMs = Number(values.seconds) * 1000;
const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
const log = (s: string): void => void process.stderr.write(`${s}\n`);

async function measureWrite(op: string, column: string, docs: number, run: () => Promise<void>): Promise<Row> {
  const cpu0 = storeCpuMs();
  const t0 = performance.now();
  await run();
  const ms = performance.now() - t0;
  const cpu1 = storeCpuMs();
  const row: Row = { op, size: 0, column, kind: 'write', rate: (docs * 1000) / ms };
  if (cpu0 !== undefined && cpu1 !== undefined) row.cpuMs = (cpu1 - cpu0) / docs;
  log(`  ${column} ${op}: ${Math.round(row.rate)} docs/s${row.cpuMs !== undefined ? `, cpu ${row.cpuMs.toFixed(3)} ms/doc` : ''}`);
  return row;
}

/**
 * One request at a time for the time budget (at least 3, at most 2000), after one warm-up; a
 * request slower than SLOW_MS is a scan, which has nothing to warm up: it counts, and one more is
 * taken (scans of 100k documents take minutes).
 */
const SLOW_MS = 2000;
async function measureRead(op: string, size: number, column: string, run: (k: number) => Promise<unknown>, plan?: string): Promise<Row> {
  const lat: number[] = [];
  let cpu0 = storeCpuMs();
  let t0 = performance.now();
  await run(-1);
  const first = performance.now() - t0;
  const slow = first > SLOW_MS;
  if (slow) lat.push(first);
  else {
    cpu0 = storeCpuMs();
    t0 = performance.now();
  }
  while (lat.length < (slow ? 2 : 2000) && (slow || lat.length < 3 || performance.now() - t0 < budgetMs)) {
    const s = performance.now();
    await run(lat.length);
    lat.push(performance.now() - s);
  }
  const ms = performance.now() - t0;
  const cpu1 = storeCpuMs();
  lat.sort((a, b) => a - b);
  const row: Row = { op, size, column, kind: 'read', rate: (lat.length * 1000) / ms, p50: percentile(lat, 0.5), p99: percentile(lat, 0.99) };
  if (cpu0 !== undefined && cpu1 !== undefined) row.cpuMs = (cpu1 - cpu0) / lat.length;
  if (plan !== undefined) row.plan = plan;
  log(`  ${column} N=${size} ${op}: p50 ${row.p50!.toFixed(2)} p99 ${row.p99!.toFixed(2)} ms (${lat.length} ops)${row.cpuMs !== undefined ? `, cpu ${row.cpuMs.toFixed(2)} ms/op` : ''}${plan ? ` [${plan}]` : ''}`);
  return row;
}

/** Inserts `docs` with insertOne, `inFlight` at a time. */
async function insertConcurrently(db: Db, coll: string, docs: Document[], inFlight: number): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < docs.length) await db.collection(coll).insertOne(docs[next++]!);
  }));
}

async function insertBatches(db: Db, coll: string, docs: Document[], batch: number): Promise<void> {
  for (let i = 0; i < docs.length; i += batch) await db.collection(coll).insertMany(docs.slice(i, i + batch), { ordered: false });
}

// ---------- query plans, summarised ----------

interface PgPlanNode { 'Node Type'?: string; 'Index Name'?: string; Plans?: PgPlanNode[] }

function pgPlanSummary(plan: PgPlanNode | undefined): string {
  const nodes: string[] = [];
  const walk = (n: PgPlanNode | undefined): void => {
    if (!n) return;
    if (n['Node Type'] !== 'Limit') nodes.push(n['Index Name'] ? `${n['Node Type']} ${n['Index Name'].replace(/^[a-z]+_[0-9a-f]{8}_/, '')}` : n['Node Type'] ?? '?');
    n.Plans?.forEach(walk);
  };
  walk(plan);
  return nodes.join(' > ');
}

/** What served the query: SQLite's plan lines or PostgreSQL's nodes, and what FerretDB pushed down. */
async function planOf(db: Db, command: Document): Promise<string> {
  try {
    const reply = await db.command({ explain: command }) as {
      queryPlanner?: { Plan?: string[] | PgPlanNode };
      filterPushdown?: boolean; sortPushdown?: boolean; limitPushdown?: boolean;
    };
    const plan = reply.queryPlanner?.Plan;
    const how = Array.isArray(plan)
      ? plan.map((l) => l.replace(/^.*detail=/, '').replace(/ \S+ USING/, ' USING').replace(/^SCAN \S+/, 'SCAN')).join('; ')
      : pgPlanSummary(plan);
    const pushed = [reply.filterPushdown && 'filter', reply.sortPushdown && 'sort', reply.limitPushdown && 'limit'].filter(Boolean).join('+');
    return `${how}; pushed: ${pushed || 'none'}`;
  } catch (err) {
    return `explain failed: ${(err as Error).message}`;
  }
}

// ---------- PostgreSQL (FerretDB's schema: one schema per database, `_jsonb` column) ----------

function psql(sql: string, quietRows = false): string {
  return execFileSync('psql', [values.psql!, '-At', '-v', 'ON_ERROR_STOP=1', ...(quietRows ? ['-o', '/dev/null'] : [])], { input: sql, maxBuffer: 64 << 20 }).toString();
}

function pgTable(dbName: string, coll: string): string {
  const table = psql(`SELECT _jsonb->>'table' FROM "${dbName}"._ferretdb_database_metadata WHERE _jsonb->>'_id' = '${coll}';`).trim();
  if (!table) throw new Error(`no PostgreSQL table for ${dbName}.${coll}`);
  return `"${dbName}"."${table}"`;
}

/**
 * GIN indexes on the expressions FerretDB's pushed-down equality uses (`_jsonb->'k' @> v`, and
 * `_jsonb #> '{a,b}' @> v` for dotted paths, query.go), which its own btree indexes cannot serve.
 * For the reads (`wholeDoc`) also the dotted paths and the whole document, to show in the plans
 * which of them are used: the embedded FerretDB never pushes dotted paths down (its handler's
 * EnableNestedPushdown is off and ferretdb.Config has no switch for it).
 */
function createGinIndexes(dbName: string, kind: 'patients' | 'postings', coll: string, wholeDoc: boolean): void {
  const t = pgTable(dbName, coll);
  const exprs = kind === 'postings'
    ? [`(_jsonb->'_id')`]
    : [`(_jsonb->'_id')`, `(_jsonb->'contentHash')`, ...(wholeDoc ? [`(_jsonb #> '{resource,gender}')`, `(_jsonb #> '{resource,birthDate}')`] : [])];
  const ddl = exprs.map((e, i) => `CREATE INDEX IF NOT EXISTS bench_gin_${coll}_${i} ON ${t} USING gin (${e} jsonb_path_ops);`);
  if (wholeDoc) ddl.push(`CREATE INDEX IF NOT EXISTS bench_gin_${coll}_doc ON ${t} USING gin (_jsonb jsonb_path_ops);`);
  psql(`${ddl.join('\n')}\nANALYZE ${t};`);
}

function dropGinIndexes(dbName: string): void {
  const names = psql(`SELECT indexname FROM pg_indexes WHERE schemaname = '${dbName}' AND indexname LIKE 'bench_gin_%';`).trim().split('\n').filter(Boolean);
  if (names.length) psql(names.map((n) => `DROP INDEX "${dbName}"."${n}";`).join('\n'));
}

const jsonbText = (s: string): string => `'${JSON.stringify(s).replace(/'/g, "''")}'::jsonb`;

/**
 * The SQL a FerretDB patch pushing `_id` down to the btree on `_jsonb->'_id'` would run, timed in
 * psql (`\timing`, round trip included, FerretDB's own decoding not): a bound for what such a patch
 * could reach. (PostgreSQL compares jsonb strings by the database collation: C here, so byte order.)
 */
function pgPushdownSql(dbName: string, size: number, column: string): Row[] {
  const patients = pgTable(dbName, 'patients');
  const postings = pgTable(dbName, 'postings');
  psql(`ANALYZE ${patients}; ANALYZE ${postings};`);
  const id = `_jsonb->'_id'`;
  const reps = 60;
  const ops: Array<[string, (k: number) => string]> = [
    ['findOne by _id', (k) => `SELECT _jsonb FROM ${patients} WHERE ${id} = ${jsonbText(patientId(randomIndex(size, 'one', k)))} LIMIT 1;`],
    ['_id $in 20', (k) => `SELECT _jsonb FROM ${patients} WHERE ${id} IN (${Array.from({ length: 20 }, (_, j) => jsonbText(patientId(randomIndex(size, `in${j}`, k)))).join(', ')});`],
    ['posting range, sort, limit 20', (k) => {
      const r = familyRange(pick(FAMILIES, `range-${k}`));
      return `SELECT _jsonb FROM ${postings} WHERE ${id} >= ${jsonbText(r.$gte)} AND ${id} < ${jsonbText(r.$lt)} ORDER BY ${id} LIMIT 20;`;
    }],
    ['count posting range (~1%)', (k) => {
      const r = familyRange(pick(FAMILIES, `count-${k}`));
      return `SELECT count(*) FROM ${postings} WHERE ${id} >= ${jsonbText(r.$gte)} AND ${id} < ${jsonbText(r.$lt)};`;
    }],
  ];
  const rows: Row[] = [];
  for (const [op, sqlOf] of ops) {
    const script = `\\timing on\n${Array.from({ length: reps }, (_, k) => sqlOf(k)).join('\n')}\n`;
    const times = [...psql(script, true).matchAll(/^Time: ([\d.]+) ms/gm)].map((m) => Number(m[1])).slice(5).sort((a, b) => a - b);
    const plan = pgPlanSummary((JSON.parse(psql(`EXPLAIN (FORMAT JSON) ${sqlOf(0)}`)) as Array<{ Plan: PgPlanNode }>)[0]!.Plan);
    const row: Row = { op, size, column, kind: 'read', rate: 1000 / (times.reduce((a, b) => a + b, 0) / times.length), p50: percentile(times, 0.5), p99: percentile(times, 0.99), plan: `${plan} (SQL alone, in psql)` };
    log(`  ${column} N=${size} ${op}: p50 ${row.p50!.toFixed(2)} p99 ${row.p99!.toFixed(2)} ms (SQL alone)`);
    rows.push(row);
  }
  return rows;
}

// ---------- the run ----------

/** The k-th random choice among the first `size` documents (k = -1 is the warm-up). */
const randomIndex = (size: number, what: string, k: number): number => Math.floor(unit(`${what}-${size}-${k}`) * size);

async function writes(db: Db, column: string, beforeInsert?: (kind: 'patients' | 'postings', coll: string) => void): Promise<Row[]> {
  // ids past every size the reads use, so these documents never collide with the seeded ones
  const base = 10_000_000;
  const many = Array.from({ length: 5000 }, (_, i) => patientDoc(base + i));
  const one = Array.from({ length: 2000 }, (_, i) => patientDoc(base + 5000 + i));
  const posts = Array.from({ length: 20_000 }, (_, i) => ({ _id: postingId(base + i) }));
  const rows: Row[] = [];
  const fresh = async (kind: 'patients' | 'postings'): Promise<string> => {
    const name = `w_${kind}`;
    await db.collection(name).drop().catch(() => undefined);
    await db.createCollection(name);
    beforeInsert?.(kind, name); // SQL indexes go on the table FerretDB has just made
    return name;
  };
  let coll = await fresh('patients');
  rows.push(await measureWrite('insert resources: insertMany 100', column, many.length, () => insertBatches(db, coll, many, 100)));
  coll = await fresh('patients');
  rows.push(await measureWrite('insert resources: insertOne, 10 in flight', column, one.length, () => insertConcurrently(db, coll, one, 10)));
  coll = await fresh('postings');
  rows.push(await measureWrite('insert postings {_id}: insertMany 1000', column, posts.length, () => insertBatches(db, coll, posts, 1000)));
  for (const c of ['w_patients', 'w_postings']) await db.collection(c).drop().catch(() => undefined);
  return rows;
}

/** Grows both collections to `size` documents and reports the rate of that growth. */
async function seed(db: Db, from: number, size: number, column: string): Promise<Row[]> {
  const rows: Row[] = [];
  const step = 10_000;
  for (const [what, batch, make] of [['resources', 100, patientDoc], ['postings', 1000, (i: number) => ({ _id: postingId(i) })]] as const) {
    const coll = what === 'resources' ? 'patients' : 'postings';
    const cpu0 = storeCpuMs();
    const t0 = performance.now();
    for (let lo = from; lo < size; lo += step) {
      const docs: Document[] = [];
      for (let i = lo; i < Math.min(size, lo + step); i++) docs.push(make(i));
      await insertBatches(db, coll, docs, batch);
      process.stderr.write(`\r  seeding ${coll} ${Math.min(size, lo + step)}/${size}`);
    }
    process.stderr.write('\n');
    const docs = size - from;
    const row: Row = { op: `seed ${what} ${from}→${size} (insertMany ${batch})`, size, column, kind: 'write', rate: (docs * 1000) / (performance.now() - t0) };
    const cpu1 = storeCpuMs();
    if (cpu0 !== undefined && cpu1 !== undefined) row.cpuMs = (cpu1 - cpu0) / docs;
    rows.push(row);
  }
  return rows;
}

/** `withGin`: only what FerretDB pushes down as `@>` (a GIN index can serve it), the rest as plans only. */
async function reads(db: Db, size: number, column: string, withGin = false): Promise<Row[]> {
  const patients = db.collection<CurrentDoc>('patients');
  const postings = db.collection<{ _id: string }>('postings');
  const rows: Row[] = [];
  const read = async (op: string, command: Document, run: (k: number) => Promise<unknown>, planOnly = false): Promise<void> => {
    const plan = await planOf(db, command);
    if (!planOnly) rows.push(await measureRead(op, size, column, run, plan));
    else {
      rows.push({ op, size, column, kind: 'read', rate: Number.NaN, plan });
      log(`  ${column} N=${size} ${op}: [${plan}]`);
    }
  };
  await read('findOne by _id', { find: 'patients', filter: { _id: patientId(0) }, limit: 1 },
    (k) => patients.findOne({ _id: patientId(randomIndex(size, 'one', k)) }));
  if (!withGin) {
    await read('_id $in 20', { find: 'patients', filter: { _id: { $in: [patientId(0), patientId(1)] } } },
      (k) => patients.find({ _id: { $in: Array.from({ length: 20 }, (_, j) => patientId(randomIndex(size, `in${j}`, k))) } }).toArray());
    await read('posting range, sort, limit 20', { find: 'postings', filter: { _id: familyRange(FAMILIES[0]!) }, sort: { _id: 1 }, limit: 20 },
      (k) => postings.find({ _id: familyRange(pick(FAMILIES, `range-${k}`)) }).sort({ _id: 1 }).limit(20).toArray());
    // FerretDB's explain reads `filter` (common/explain.go), not count's `query`
    await read('count posting range (~1%)', { count: 'postings', filter: { _id: familyRange(FAMILIES[0]!) } },
      (k) => db.command({ count: 'postings', query: { _id: familyRange(pick(FAMILIES, `count-${k}`)) } }));
  }
  await read('resource.gender = female, limit 20', { find: 'patients', filter: { 'resource.gender': 'female' }, limit: 20 },
    () => patients.find({ 'resource.gender': 'female' }).limit(20).toArray(), withGin);
  await read('resource.birthDate = d (selective), limit 20', { find: 'patients', filter: { 'resource.birthDate': birthDateOf(0) }, limit: 20 },
    (k) => patients.find({ 'resource.birthDate': birthDateOf(randomIndex(size, 'birth', k)) }).limit(20).toArray(), withGin);
  await read('contentHash = h (top level, unique)', { find: 'patients', filter: { contentHash: contentHashOf(0) }, limit: 1 },
    (k) => patients.findOne({ contentHash: contentHashOf(randomIndex(size, 'hash', k)) }));
  return rows;
}

async function runOne(): Promise<Row[]> {
  const sizes = values.sizes.split(',').map(Number).filter((n) => n > 0).sort((a, b) => a - b);
  const label = values.label;
  const client = await new MongoClient(values.url, { maxPoolSize: 20 }).connect();
  const db = client.db(`benchstore_${process.pid}`);
  const rows: Row[] = [];
  try {
    log(`${label}: ${values.url}, database ${db.databaseName}, load ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
    rows.push(...await writes(db, label));
    if (values.psql) rows.push(...await writes(db, `${label}+gin`, (kind, coll) => createGinIndexes(db.databaseName, kind, coll, false)));
    let stored = 0;
    for (const size of sizes) {
      rows.push(...await seed(db, stored, size, label));
      stored = size;
      rows.push(...await reads(db, size, label));
      if (values.psql) {
        createGinIndexes(db.databaseName, 'patients', 'patients', true);
        createGinIndexes(db.databaseName, 'postings', 'postings', false);
        rows.push(...await reads(db, size, `${label}+gin`, true));
        dropGinIndexes(db.databaseName); // the next size is seeded as the plain backend would be
        rows.push(...pgPushdownSql(db.databaseName, size, `${label} SQL alone`));
      }
    }
    log(`${label}: done, load ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
  } finally {
    await db.dropDatabase().catch((err: Error) => log(`could not drop ${db.databaseName}: ${err.message}`));
    await client.close();
  }
  return rows;
}

// ---------- the table ----------

const fmt = (n: number, digits = 2): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(digits));

function cell(r: Row | undefined): string {
  if (!r || (r.kind === 'read' && r.p50 === undefined)) return ''; // a plan without figures
  const cpu = r.cpuMs !== undefined ? ` · cpu ${fmt(r.cpuMs, r.kind === 'write' ? 3 : 2)}` : '';
  return r.kind === 'write' ? `${fmt(r.rate)}/s${cpu}` : `${fmt(r.p50!)} / ${fmt(r.p99!)}${cpu}`;
}

function table(rows: Row[]): string {
  const columns = [...new Set(rows.map((r) => r.column))];
  const keys = [...new Map(rows.map((r) => [`${r.size}\t${r.op}`, r] as const)).values()]
    .sort((a, b) => (a.kind === b.kind ? a.size - b.size : a.kind === 'write' ? -1 : 1));
  const lines = [
    `| operation | N | ${columns.join(' | ')} |`,
    `|---|---:|${columns.map(() => '---:').join('|')}|`,
  ];
  for (const k of keys) {
    const at = (c: string): Row | undefined => rows.find((r) => r.column === c && r.op === k.op && r.size === k.size);
    lines.push(`| ${k.op} | ${k.size ? k.size.toLocaleString('en-US') : '-'} | ${columns.map((c) => cell(at(c))).join(' | ')} |`);
  }
  const plans = rows.filter((r) => r.plan).map((r) => `- ${r.column}, N=${r.size}, ${r.op}: ${r.plan}`);
  return `${lines.join('\n')}\n\nWrites: documents/s. Reads: ms p50 / p99, one request at a time (a scan, over 2 s, runs twice: both show the slower). cpu: store CPU ms per document or operation.\n\nPlans:\n${[...new Set(plans)].join('\n')}\n`;
}

if (values.report) {
  const rows = values.report.split(',').flatMap((f) => JSON.parse(readFileSync(f, 'utf8')) as Row[]);
  process.stdout.write(table(rows));
} else {
  const rows = await runOne();
  if (values.json) writeFileSync(values.json, JSON.stringify(rows, null, 1));
  process.stdout.write(table(rows));
}

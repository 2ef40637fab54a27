/**
 * What encryption at rest costs: the same Patient workload on the real store (FerretDB) with
 * encryption off and on, and the CPU cost of its parts measured in-process (sealing and opening a
 * resource, hashing its postings, sealing a Kafka record).
 *
 *   npx tsx bench/encryptionCost.ts [--patients 2000] [--batch 100] [--rounds 2]
 *
 * Store: writes in batches of --batch (as the pipeline stores a partition's waiting records), reads
 * by id with 10 in flight, searches by exact identifier one at a time. Each mode gets a fresh
 * database; the modes alternate for --rounds rounds and the better round of each is reported, so a
 * neighbour's burst on a shared machine hurts both alike. Needs the services up (or MONGO_URL).
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import { DataProtection } from '../hub/crypto/dataProtection.ts';
import { buildKeyring } from '../hub/crypto/keyring.ts';
import { openResourceDoc, postingHasherOf, sealResourceDoc } from '../hub/store/fieldProtector.ts';
import { MongoResourceStore } from '../hub/store/mongoResourceStore.ts';
import { postingIdsOf } from '../hub/store/postingKeys.ts';
import type { StoredResource } from '../hub/store/resourceStore.ts';

const { values } = parseArgs({
  options: {
    patients: { type: 'string', default: '2000' },
    batch: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '2' },
  },
});
const N = Number(values.patients);
const BATCH = Number(values.batch);
const ROUNDS = Number(values.rounds);
const MONGO_URL = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017/';

const protection = new DataProtection(buildKeyring({
  activeKey: 'bench', keys: [{ id: 'bench', key: randomBytes(32) }], hashKey: { id: 'bench-h', key: randomBytes(32) },
}, 'bench keyring'));

/** An admission's Patient as the ADT mapping writes it: identifiers, names in characters and pinyin, phone, address. */
function patient(i: number): StoredResource {
  const id = `bench-${i}`;
  return {
    resourceType: 'Patient', id,
    meta: { source: `urn:hub:identifier/source/HIS#B${i}`, tag: [{ system: 'urn:hub:mapping', code: 'hl7v2/messages/ADT_A01', version: '2' }] },
    identifier: [
      { use: 'usual', type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] }, system: 'urn:oid:2.16.840.1.113883.19.5', value: `MRN${100000 + i}` },
      { use: 'official', type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'NI' }] }, system: 'urn:hub:identifier/CHN_NHC', value: `110101199003${String(i).padStart(5, '0')}X` },
    ],
    name: [{ use: 'official', family: '张', given: [`三${i}`] }, { use: 'anonymous', family: 'ZHANG', given: [`SAN${i}`] }],
    telecom: [{ system: 'phone', value: `+86 138 ${String(10000000 + i)}`, use: 'mobile' }],
    gender: i % 2 ? 'male' : 'female',
    birthDate: `19${50 + (i % 50)}-0${1 + (i % 9)}-1${i % 10}`,
    address: [{ use: 'home', line: [`朝阳路${i}号`], city: '北京', state: 'BJ', postalCode: '100020', country: 'CN' }],
  } as unknown as StoredResource;
}

const perSecond = (n: number, ms: number) => Math.round((n * 1000) / ms);

async function inFlight<T>(items: T[], width: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

interface StoreFigures { writes: number; reads: number; searches: number; docBytes: number }

async function storeRound(client: MongoClient, sealed: boolean): Promise<StoreFigures> {
  const db = client.db(`bench_enc_${sealed ? 'on' : 'off'}_${Date.now().toString(36)}`);
  try {
    const store = new MongoResourceStore(db, sealed ? { protection } : {});
    const resources = Array.from({ length: N }, (_, i) => patient(i));
    let t = performance.now();
    for (let i = 0; i < N; i += BATCH) await store.writeMany(resources.slice(i, i + BATCH).map((resource) => ({ resource })));
    const writes = perSecond(N, performance.now() - t);

    t = performance.now();
    await inFlight(resources, 10, (r) => store.read('Patient', r.id));
    const reads = perSecond(N, performance.now() - t);

    const probes = resources.filter((_, i) => i % 4 === 0);
    t = performance.now();
    for (const r of probes) {
      const found = await store.search('Patient', { criteria: [], where: [{ param: 'identifier', anyOf: [{ kind: 'entry', value: (r as unknown as { identifier: Array<{ value: string }> }).identifier[1]!.value }] }] });
      if (found.resources[0]?.id !== r.id) throw new Error(`search for ${r.id} found ${found.resources.map((x) => x.id).join(',')}`);
    }
    const searches = perSecond(probes.length, performance.now() - t);
    const stats = await db.command({ collStats: 'Patient' }).catch(() => ({ size: 0, count: 1 })) as { size?: number; count?: number };
    return { writes, reads, searches, docBytes: Math.round((stats.size ?? 0) / Math.max(1, stats.count ?? 1)) };
  } finally {
    await db.dropDatabase();
  }
}

/** Per-operation CPU time in microseconds (best of a few passes). */
function cpu(label: string, n: number, fn: (i: number) => void): [string, number] {
  let best = Infinity;
  for (let pass = 0; pass < 5; pass += 1) {
    const t = performance.now();
    for (let i = 0; i < n; i += 1) fn(i);
    best = Math.min(best, ((performance.now() - t) * 1000) / n);
  }
  return [label, Math.round(best * 10) / 10];
}

async function main(): Promise<void> {
  const sample = patient(7);
  const hasher = postingHasherOf(protection);
  const sealedDoc = sealResourceDoc({ _id: sample.id, resource: sample }, protection);
  const raw = Buffer.alloc(532, 'PID|1||MRN100001^^^H^MR||ZHANG^SAN');
  const sealer = protection.recordSealer();
  const cpuFigures = [
    cpu('postings of a Patient, clear', 2000, () => postingIdsOf(sample)),
    cpu('postings of a Patient, hashed', 2000, () => postingIdsOf(sample, hasher)),
    cpu('seal a Patient (JSON + AES-GCM)', 5000, () => sealResourceDoc({ _id: sample.id, resource: sample }, protection)),
    cpu('open a Patient', 5000, () => openResourceDoc('Patient', sample.id, sealedDoc, protection)),
    cpu('seal a 532-byte Kafka record (value + key)', 5000, (i) => sealer.seal({ topic: 't', key: `H|MRN${i}`, value: raw, headers: {} })),
  ];
  console.log(`patients: ${N}, write batches of ${BATCH}, ${ROUNDS} round(s), ${MONGO_URL}`);
  console.log('\nCPU per operation (µs, one core):');
  for (const [label, us] of cpuFigures) console.log(`  ${label.padEnd(44)} ${us}`);

  const client = await new MongoClient(MONGO_URL).connect();
  try {
    const best: Record<'off' | 'on', StoreFigures | undefined> = { off: undefined, on: undefined };
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const mode of round % 2 ? ['on', 'off'] as const : ['off', 'on'] as const) {
        const f = await storeRound(client, mode === 'on');
        const b = best[mode];
        best[mode] = b ? { writes: Math.max(b.writes, f.writes), reads: Math.max(b.reads, f.reads), searches: Math.max(b.searches, f.searches), docBytes: f.docBytes } : f;
      }
    }
    const off = best.off!;
    const on = best.on!;
    const ratio = (a: number, b: number) => `${Math.round((b / a) * 100)} %`;
    console.log('\nstore (FerretDB), Patients per second:');
    console.log(`  ${'operation'.padEnd(36)} ${'off'.padStart(7)} ${'on'.padStart(7)}  on/off`);
    console.log(`  ${`write (batches of ${BATCH})`.padEnd(36)} ${String(off.writes).padStart(7)} ${String(on.writes).padStart(7)}  ${ratio(off.writes, on.writes)}`);
    console.log(`  ${'read by id (10 in flight)'.padEnd(36)} ${String(off.reads).padStart(7)} ${String(on.reads).padStart(7)}  ${ratio(off.reads, on.reads)}`);
    console.log(`  ${'search by identifier (one at a time)'.padEnd(36)} ${String(off.searches).padStart(7)} ${String(on.searches).padStart(7)}  ${ratio(off.searches, on.searches)}`);
    if (off.docBytes && on.docBytes) console.log(`  ${'stored document size (bytes)'.padEnd(36)} ${String(off.docBytes).padStart(7)} ${String(on.docBytes).padStart(7)}`);
  } finally {
    await client.close();
  }
}

await main();

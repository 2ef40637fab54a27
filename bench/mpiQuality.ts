import { loadMatchRules } from '../hub/mpi/matchRules.ts';
import { patientFeatures, type PatientFeatures } from '../hub/mpi/patientFeatures.ts';
import { clusterRecords } from '../hub/mpi/recordClustering.ts';
import { generateLabelledPatients } from './mpiDataGenerator.ts';

/**
 * Matching quality and speed on generated, labelled data:
 *   npx tsx bench/mpiQuality.ts [records...]      (default: 100000 1000000)
 * Prints, per size: true pairs, candidate comparisons, pairs/second of the blocked comparison,
 * and precision / recall / F1 of (a) pair detection at the auto-merge threshold and (b) the
 * person clusters (pairs implied by being in the same cluster).
 */
const rules = loadMatchRules(process.env.MPI_RULES);
const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);

function prf(tp: number, fp: number, fn: number): string {
  const p = tp / Math.max(1, tp + fp), r = tp / Math.max(1, tp + fn);
  const f1 = (2 * p * r) / Math.max(1e-9, p + r);
  return `precision ${p.toFixed(4)}  recall ${r.toFixed(4)}  F1 ${f1.toFixed(4)}`;
}

function run(count: number): void {
  const t0 = performance.now();
  const records: PatientFeatures[] = [];
  const person: number[] = [];
  for (const { patient, person: who } of generateLabelledPatients(count)) {
    records.push(patientFeatures(patient, rules, /\/source\/([^#]+)/.exec(patient.meta!.source!)![1]));
    person.push(who);
  }
  const t1 = performance.now();
  let lastShown = 0;
  const result = clusterRecords({
    records,
    onProgress: (done, total) => {
      const pct = Math.floor((done / total) * 100);
      if (pct >= lastShown + 10 || done === total) { lastShown = pct; process.stderr.write(`\r  matching ${count}: ${'#'.repeat(pct / 5).padEnd(20, '.')} ${pct}%`); }
    },
  }, rules);
  process.stderr.write('\n');
  const t2 = performance.now();

  // truth: pairs of records of the same person
  const sizeOf = new Map<number, number>();
  for (const p of person) sizeOf.set(p, (sizeOf.get(p) ?? 0) + 1);
  let truePairs = 0;
  for (const s of sizeOf.values()) truePairs += (s * (s - 1)) / 2;

  let tp = 0, fp = 0;
  for (const pair of result.pairs) {
    if (pair.score < rules.thresholds.autoMerge) continue;
    if (person[pair.a] === person[pair.b]) tp += 1; else fp += 1;
  }
  let reviewTrue = 0, reviewAll = 0;
  for (const pair of result.pairs) {
    if (pair.score >= rules.thresholds.autoMerge) continue;
    reviewAll += 1;
    if (person[pair.a] === person[pair.b]) reviewTrue += 1;
  }
  // clusters: count co-clustered pairs, and those that are true
  const byCluster = new Map<number, number[]>();
  result.clusterOf.forEach((c, i) => { const l = byCluster.get(c); if (l) l.push(i); else byCluster.set(c, [i]); });
  let ctp = 0, cAll = 0;
  for (const members of byCluster.values()) {
    if (members.length < 2) continue;
    cAll += (members.length * (members.length - 1)) / 2;
    const perPerson = new Map<number, number>();
    for (const m of members) perPerson.set(person[m]!, (perPerson.get(person[m]!) ?? 0) + 1);
    for (const k of perPerson.values()) ctp += (k * (k - 1)) / 2;
  }
  const matchSeconds = (t2 - t1) / 1000;
  console.log(`records ${count}  persons ${sizeOf.size}  true pairs ${truePairs}`);
  console.log(`  features ${((t1 - t0) / 1000).toFixed(1)} s (incl. generation)  blocked comparisons ${result.comparisons} (${(result.comparisons / count).toFixed(1)} per record)  oversized blocks skipped ${result.skippedBlocks}`);
  console.log(`  match+cluster ${matchSeconds.toFixed(1)} s  ->  ${Math.round(result.comparisons / matchSeconds)} pairs/s, ${Math.round(count / matchSeconds)} records/s`);
  console.log(`  pairs >= autoMerge (${rules.thresholds.autoMerge}): ${prf(tp, fp, truePairs - tp)}`);
  console.log(`  clusters:                   ${prf(ctp, cAll - ctp, truePairs - ctp)}`);
  console.log(`  review queue (${rules.thresholds.review} <= score < ${rules.thresholds.autoMerge}): ${reviewAll} pairs, ${reviewTrue} of them true`);
  console.log(`  heap ${Math.round(process.memoryUsage().heapUsed / 1e6)} MB`);
}

for (const n of sizes.length ? sizes : [100_000, 1_000_000]) run(n);

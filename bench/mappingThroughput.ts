/**
 * Parse + map throughput of the mapping engine, per core, for what the feeds carry: ADT^A01 (a
 * full admission, 13 resources; the example admission; the FHIR-Converter kitchen-sink sample),
 * ORU^R01 lab with 120 OBX and the NIST LRI CBC, ORU^R01 radiology with an ImagingStudy, SIU^S12,
 * VXU^V04, and a FHIR transaction Bundle through the FHIR input normalisation; each without and
 * with the FHIR R4 schema validation the pipeline runs. Prints msg/s and resources/s on one
 * core, msg/s with one worker process per core, the one-off cost of loading the mappings and
 * compiling the FHIR schema, and peak memory.
 *
 *   npx tsx bench/mappingThroughput.ts [--seconds 2] [--cases adt,oru]   (case names contain)
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from '../hub/core/schemaValidator.ts';
import { parseHl7 } from '../hub/hl7v2/hl7Parser.ts';
import { mapHl7Message } from '../hub/mapping/mappingEngine.ts';
import { loadMappings } from '../hub/mapping/mappingLoader.ts';
import { mapFhirInput } from '../hub/pipeline/fhirInputMapping.ts';
import { fhirInputRules } from '../hub/pipeline/fhirInputRules.ts';
import { fhirProblems, fhirSchemaFor } from '../hub/pipeline/fhirSchemaValidator.ts';

type Registry = ReturnType<typeof loadMappings>;
type Resource = Parameters<typeof fhirProblems>[0];

const settings = { timeZone: 'Asia/Shanghai', identifierSystemBase: 'urn:hub:identifier' };
const origin = { sourceSystem: 'HIS', connectorId: 'bench', receivedAt: '2026-11-23T00:00:00Z' };
const fixture = (...p: string[]) => readFileSync(path.join(PROJECT_ROOT, 'test', 'fixtures', 'mapping', ...p), 'utf8');

const oru120 = [
  'MSH|^~\\&|LIS|RENJI|HUB|RENJI|20261123090000+0800||ORU^R01^ORU_R01|BENCH1|P|2.5.1',
  'PID|1||MRN200345^^^RENJI&2.16.840.1.113883.19.8&ISO^MR||王^芳||19850412|F',
  'PV1|1|I|CARD^0502^01^RENJI||||D0101^ZHAO^LEI||||||||||||VN20261120007^^^RENJI^VN',
  'ORC|RE|PL-1^HIS|FL-1^LIS',
  'OBR|1|PL-1^HIS|FL-1^LIS|CHEM^Chemistry panel^L|||20261123070000+0800||||||||||||||||||F',
  ...Array.from({ length: 120 }, (_, i) => `OBX|${i + 1}|NM|${1000 + i}-${i % 10}^Analyte ${i}^LN||${(i * 1.7).toFixed(1)}|mg/dL|3.5-5.5|${i % 5 ? 'N' : 'H'}|||F|||20261123075000+0800`),
  'SPM|1|SP-1&HIS|SP-1F&LIS|SER^Serum^HL70487|||||||||||||20261123070000+0800|20261123073000+0800',
].join('\r');

const hl7 = (text: string) => (registry: Registry) => () => mapHl7Message(parseHl7(text), origin, registry, settings).resources.map((r) => r.resource as Resource);

/** Each case builds, once per process, a function that maps one message and returns what it made. */
const CASES: Record<string, (registry: Registry) => () => Resource[]> = {
  'ADT^A01 admission (13 resources)': hl7(fixture('adt', 'adt-a01-admit.hl7')),
  'ADT^A01 examples/ admission': hl7(readFileSync(path.join(PROJECT_ROOT, 'examples', 'adt-a01-zhang-san.hl7'), 'utf8')),
  'ADT^A01 FHIR-Converter sample': hl7(fixture('adt', 'fhir-converter-ADT-A01-01.hl7')),
  'ORU^R01 lab, 120 OBX': hl7(oru120),
  'ORU^R01 NIST LRI CBC (28 OBX)': hl7(fixture('lis', 'LRI_2.0-NG_CBC_Typ_Message.hl7')),
  'ORU^R01 radiology + ImagingStudy': hl7(fixture('pacs', 'oru-r01-chest-xray-zds.hl7')),
  'SIU^S12': hl7(fixture('siu', 'SIU-S12-02.hl7')),
  'VXU^V04': hl7(fixture('vxu', 'VXU-V04-01.hl7')),
  'FHIR transaction Bundle (3 resources)': (registry) => {
    const bundle = fixture('fhir', 'transaction-patient-encounter-observation.json');
    const rules = fhirInputRules(registry);
    return () => mapFhirInput(JSON.parse(bundle), { sourceSystem: 'EMR' }, rules, settings).resources.map((r) => r.resource as Resource);
  },
};

type Mode = 'map' | 'map+validate';

function runner(name: string, mode: Mode, registry: Registry): () => number {
  const map = CASES[name]!(registry);
  return () => {
    const resources = map();
    if (mode === 'map+validate') for (const r of resources) if (fhirProblems(r).length) throw new Error(`invalid ${r.resourceType}`);
    return resources.length;
  };
}

function measure(run: () => number, seconds: number): { perSecond: number; resources: number } {
  for (let i = 0; i < 100; i++) run(); // warm-up (JIT, schema compile)
  let n = 0;
  let resources = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() < deadline) {
    for (let i = 0; i < 10; i++) resources += run();
    n += 10;
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  return { perSecond: n / elapsed, resources: resources / elapsed };
}

const child = process.env.BENCH_CHILD;
if (child) {
  const { name, mode, seconds } = JSON.parse(child) as { name: string; mode: Mode; seconds: number };
  const registry = loadMappings(path.join(PROJECT_ROOT, 'mappings'));
  const perSecond = measure(runner(name, mode, registry), seconds).perSecond;
  process.send!({ perSecond, rss: process.memoryUsage().rss }, () => process.exit(0));
} else {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '2' }, cases: { type: 'string' } } });
  const seconds = Number(values.seconds);
  const wanted = values.cases?.toLowerCase().split(',');
  const names = Object.keys(CASES).filter((n) => !wanted || wanted.some((w) => n.toLowerCase().includes(w)));
  const cores = availableParallelism();
  let peakRss = 0;
  let peakHeap = 0;
  let peakChildRss = 0;
  const sample = () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  };
  const sampler = setInterval(sample, 20);

  const t0 = process.hrtime.bigint();
  const registry = loadMappings(path.join(PROJECT_ROOT, 'mappings'));
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const t1 = process.hrtime.bigint();
  for (const type of ['Patient', 'Encounter', 'Observation', 'DiagnosticReport']) fhirSchemaFor(type);
  const compileMs = Number(process.hrtime.bigint() - t1) / 1e6;
  sample();

  console.log(`Node ${process.version}, ${cores} core(s), ${seconds} s per measurement`);
  console.log(`load + lint all mapping files: ${loadMs.toFixed(0)} ms; FHIR R4 schema read + compile (4 types, once per process): ${compileMs.toFixed(0)} ms`);
  console.log(`${'case'.padEnd(38)} ${'mode'.padEnd(13)} ${'1 core msg/s'.padStart(12)} ${'res/s'.padStart(8)} ${`${cores} workers msg/s`.padStart(17)} ${'per core'.padStart(9)}`);
  for (const name of names) {
    for (const mode of ['map', 'map+validate'] as Mode[]) {
      const single = measure(runner(name, mode, registry), seconds);
      sample();
      const rates = await Promise.all(Array.from({ length: cores }, () => new Promise<number>((resolve, reject) => {
        const p = fork(fileURLToPath(import.meta.url), [], { execArgv: ['--import', 'tsx'], env: { ...process.env, BENCH_CHILD: JSON.stringify({ name, mode, seconds }) } });
        p.once('message', (m) => {
          const { perSecond, rss } = m as { perSecond: number; rss: number };
          peakChildRss = Math.max(peakChildRss, rss);
          resolve(perSecond);
        });
        p.once('error', reject);
      })));
      const total = rates.reduce((a, b) => a + b, 0);
      console.log(`${name.padEnd(38)} ${mode.padEnd(13)} ${single.perSecond.toFixed(0).padStart(12)} ${single.resources.toFixed(0).padStart(8)} ${total.toFixed(0).padStart(17)} ${(total / cores).toFixed(0).padStart(9)}`);
    }
  }
  clearInterval(sampler);
  console.log(`peak memory: single-core process RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB (heap used ${(peakHeap / 2 ** 20).toFixed(0)} MiB); each per-core worker process RSS up to ${(peakChildRss / 2 ** 20).toFixed(0)} MiB`);
}

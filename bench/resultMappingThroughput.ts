/**
 * Parse + map speed, single core, for the messages of issue 4: ADT^A01 (for reference),
 * ORU^R01 with 120 OBX (lab), ORU^R01 radiology with an ImagingStudy, SIU^S12, VXU^V04, and a
 * FHIR transaction Bundle through the FHIR input normalisation. Prints messages/second,
 * resources/second and the peak RSS / heap seen while running.
 *
 *   npx tsx bench/resultMappingThroughput.ts [--seconds 2]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../hub/core/schemaValidator.ts';
import { parseHl7 } from '../hub/hl7v2/hl7Parser.ts';
import { mapHl7Message } from '../hub/mapping/mappingEngine.ts';
import { loadMappings } from '../hub/mapping/mappingLoader.ts';
import { mapFhirInput } from '../hub/pipeline/fhirInputMapping.ts';
import { fhirInputRules } from '../hub/pipeline/fhirInputRules.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '2' } } });
const seconds = Number(values.seconds);
const registry = loadMappings(path.join(PROJECT_ROOT, 'mappings'));
const settings = { timeZone: 'Asia/Shanghai', identifierSystemBase: 'urn:hub:identifier' };
const origin = { sourceSystem: 'LIS', connectorId: 'bench', receivedAt: '2026-11-23T00:00:00Z' };
const fixture = (area: string, name: string) => readFileSync(path.join(PROJECT_ROOT, 'test', 'fixtures', 'mapping', area, name), 'utf8');

const oru120 = [
  'MSH|^~\\&|LIS|DEMO_HOSP|HUB|DEMO_HOSP|20261123090000+0800||ORU^R01^ORU_R01|BENCH1|P|2.5.1',
  'PID|1||MRN100001^^^DEMO_HOSP&2.16.840.1.113883.19.5&ISO^MR||张^三||19900307|M',
  'PV1|1|I|WARD3^301^02^DEMO_HOSP||||1234^WANG^WU||||||||||||VN20261123001^^^DEMO_HOSP',
  'ORC|RE|PL-1^HIS|FL-1^LIS',
  'OBR|1|PL-1^HIS|FL-1^LIS|CHEM^Chemistry panel^L|||20261123070000+0800||||||||||||||||||F',
  ...Array.from({ length: 120 }, (_, i) => `OBX|${i + 1}|NM|${1000 + i}-${i % 10}^Analyte ${i}^LN||${(i * 1.7).toFixed(1)}|mg/dl|3.5-5.5|${i % 5 ? 'N' : 'H'}|||F|||20261123075000+0800`),
  'SPM|1|SP-1&HIS|SP-1F&LIS|SER^Serum^HL70487|||||||||||||20261123070000+0800|20261123073000+0800',
].join('\r');

const cases: Array<{ name: string; run: () => number }> = [
  { name: 'ADT^A01 (examples/)', text: readFileSync(path.join(PROJECT_ROOT, 'examples', 'adt-a01-zhang-san.hl7'), 'utf8') },
  { name: 'ORU^R01 lab, 120 OBX', text: oru120 },
  { name: 'ORU^R01 radiology + ImagingStudy', text: fixture('pacs', 'oru-r01-chest-xray-zds.hl7') },
  { name: 'ORU^R01 NIST LRI CBC (28 OBX)', text: fixture('lis', 'LRI_2.0-NG_CBC_Typ_Message.hl7') },
  { name: 'SIU^S12', text: fixture('siu', 'SIU-S12-02.hl7') },
  { name: 'VXU^V04', text: fixture('vxu', 'VXU-V04-01.hl7') },
].map(({ name, text }) => ({ name, run: () => mapHl7Message(parseHl7(text), origin, registry, settings).resources.length }));

const bundle = fixture('fhir', 'transaction-patient-encounter-observation.json');
const rules = fhirInputRules(registry);
cases.push({ name: 'FHIR transaction Bundle (3 resources)', run: () => mapFhirInput(JSON.parse(bundle), { sourceSystem: 'EMR' }, rules, settings).resources.length });

let peakRss = 0;
let peakHeap = 0;
const sample = () => {
  const m = process.memoryUsage();
  peakRss = Math.max(peakRss, m.rss);
  peakHeap = Math.max(peakHeap, m.heapUsed);
};
const sampler = setInterval(sample, 20);

function measure(run: () => number): { perSecond: number; resources: number } {
  for (let i = 0; i < 200; i++) run(); // warm-up
  let n = 0;
  let resources = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() < deadline) {
    for (let i = 0; i < 20; i++) resources += run();
    n += 20;
    sample();
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  return { perSecond: n / elapsed, resources: resources / elapsed };
}

console.log(`parse + map, one core, ${seconds} s per case (Node ${process.version})`);
console.log('case'.padEnd(40), 'msg/s'.padStart(10), 'resources/s'.padStart(13));
for (const c of cases) {
  const { perSecond, resources } = measure(c.run);
  console.log(c.name.padEnd(40), perSecond.toFixed(0).padStart(10), resources.toFixed(0).padStart(13));
}
clearInterval(sampler);
console.log(`peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB, peak heap used ${(peakHeap / 2 ** 20).toFixed(0)} MiB`);

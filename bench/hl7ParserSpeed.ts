/**
 * Parse speed of our HL7v2 parser beside hl7-standard (the package the guide names), on the
 * sample ADT^A01 and on an ORU^R01 with 150 OBX. hl7-standard is not in the code path (it
 * loses custom delimiters, escapes and the "" null; see the foundation commit); this keeps
 * the choice honest on speed as well.
 *
 *   npx tsx bench/hl7ParserSpeed.ts [--seconds 2]
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../hub/core/schemaValidator.ts';
import { parseHl7 } from '../hub/hl7v2/hl7Parser.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '2' } } });
const seconds = Number(values.seconds);
const HL7 = createRequire(import.meta.url)('hl7-standard') as new (raw: string) => { transform(): void; get(path: string): unknown };

const adt = readFileSync(path.join(PROJECT_ROOT, 'examples/adt-a01-zhang-san.hl7'), 'utf8');
const oru = [
  'MSH|^~\\&|LIS|DEMO_HOSP|HUB|DEMO_HOSP|20261123083000+0800||ORU^R01^ORU_R01|LIS1|P|2.5|||||CHN|UNICODE UTF-8',
  'PID|1||MRN100001^^^DEMO_HOSP^MR||ZHANG^SAN||19900307|M',
  'OBR|1|PLC1^HIS|FIL1^LIS|CBC^Complete blood count^L|||20261123070000+0800',
  ...Array.from({ length: 150 }, (_, i) => `OBX|${i + 1}|NM|${1000 + i}-${i % 10}^Analyte ${i}^LN||${(i * 1.7).toFixed(1)}|mmol/L^mmol/L^UCUM|3.5-5.5|N|||F|||20261123075000+0800`),
].join('\r') + '\r';

function rate(fn: () => void): number {
  for (let i = 0; i < 200; i++) fn(); // warm-up
  let n = 0;
  const end = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  const start = process.hrtime.bigint();
  while (process.hrtime.bigint() < end) { for (let i = 0; i < 50; i++) fn(); n += 50; }
  return n / (Number(process.hrtime.bigint() - start) / 1e9);
}

console.log('message            | ours msg/s | hl7-standard msg/s | ours / hl7-standard');
for (const [name, text] of [['ADT^A01', adt], ['ORU^R01 150 OBX', oru]] as const) {
  // Both read one field after parsing, so lazy work is not counted as free.
  const ours = rate(() => { parseHl7(text).segment('PID')?.value(3, 0, 1); });
  const theirs = rate(() => { const m = new HL7(text); m.transform(); m.get('PID.3.1'); });
  console.log(`${name.padEnd(18)} | ${ours.toFixed(0).padStart(10)} | ${theirs.toFixed(0).padStart(18)} | ${(ours / theirs).toFixed(2).padStart(6)}`);
}

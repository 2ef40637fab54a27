/**
 * An ORU^R01 with as many OBX as asked: the shape of the 479 KB, 10,000-OBX result message that
 * once held the whole pipeline for 16 minutes. Each OBX is a numeric result of about 48 bytes.
 */
export function oruWithObx(controlId: string, obxCount: number, mrn = `MRN-${controlId}`): string {
  const lines = [
    `MSH|^~\\&|LIS|DEMO_HOSP|HUB|DEMO_HOSP|20260501083000+0800||ORU^R01^ORU_R01|${controlId}|P|2.5`,
    `PID|1||${mrn}^^^DEMO_HOSP^MR||DOE^JOHN||19900307|M`,
    'OBR|1|ORD-1|FIL-1|24317-0^Hemogram^LN|||20260501080000+0800||||||||||||||||||F',
  ];
  for (let i = 1; i <= obxCount; i += 1) lines.push(`OBX|${i}|NM|718-7^Hemoglobin^LN||${100 + (i % 60)}|g/L|||||F`);
  return `${lines.join('\r')}\r`;
}

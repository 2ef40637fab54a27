/** Small HL7v2 messages for connector tests; the control id is what tests track. */
export interface SampleOptions {
  type?: string;
  mrn?: string;
  facility?: string;
  family?: string;
  charset?: string;
  /** MSH-15 / MSH-16 */
  acceptAck?: string;
  appAck?: string;
}

export function sampleMessage(controlId: string, o: SampleOptions = {}): string {
  return [
    `MSH|^~\\&|HIS|${o.facility ?? 'DEMO_HOSP'}|HUB|DEMO_HOSP|20260501083000+0800||${o.type ?? 'ADT^A01^ADT_A01'}|${controlId}|P|2.5|||${o.acceptAck ?? ''}|${o.appAck ?? ''}||${o.charset ?? ''}`,
    'EVN|A01|20260501082955+0800',
    `PID|1||${o.mrn ?? `MRN-${controlId}`}^^^DEMO_HOSP&2.16.840.1.113883.19.5&ISO^MR~110101199003077774^^^CHN_NHC^NI||${o.family ?? 'DOE'}^JOHN||19900307|M`,
    'PV1|1|I|WARD3^301^02^DEMO_HOSP',
  ].join('\r') + '\r';
}

/** MSH-10 of a message (raw bytes are ASCII up to there). */
export function controlIdOf(raw: Buffer | string): string {
  const text = Buffer.isBuffer(raw) ? raw.toString('latin1') : raw;
  return text.split(/\r|\n/)[0]!.split('|')[9] ?? '';
}

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { Patient } from 'fhir/r4.js';
import type { MllpConnector } from '../../../connectors/hl7v2-mllp/mllpConnector.ts';
import { PROJECT_ROOT } from '../../../hub/core/schemaValidator.ts';
import { MllpTestClient } from '../../support/mllpClient.ts';
import { runningHub } from '../../support/runningHub.ts';
import { eventually } from '../../support/testServices.ts';

const A01 = readFileSync(path.join(PROJECT_ROOT, 'examples', 'adt-a01-zhang-san.hl7'), 'utf8');

/** The sample admission (MSH-18 UNICODE UTF-8) with a new control id and a Latin-1 "ü" (0xFC, not UTF-8) in the patient's family name. */
function admissionWithLatin1Byte(controlId: string): Buffer {
  const text = A01.replace('|HIS000001|', `|${controlId}|`).replace('张^三', 'M@ller^Hans');
  const bytes = Buffer.from(text, 'utf8');
  bytes[bytes.indexOf('M@ller') + 1] = 0xfc;
  return bytes;
}

const ackCode = (ack: string) => /\rMSA\|([A-Z]{2})\|/.exec(ack)?.[1];

describe('Invalid UTF-8 under MSH-18 UTF-8: warned in the lineage or refused at intake (real Kafka and FerretDB)', function () {
  this.timeout(90_000);
  const { runtime, db } = runningHub({
    connectors: [
      { id: 'his-adt', kind: 'hl7v2-mllp', sourceSystem: 'HIS', host: '127.0.0.1', port: 0 },
      { id: 'his-strict', kind: 'hl7v2-mllp', sourceSystem: 'HIS', host: '127.0.0.1', port: 0, options: { invalidUtf8: 'refuse' } },
    ],
  }, { api: false });
  const portOf = (id: string) => (runtime.connectors.find((c) => c.id === id) as MllpConnector).port!;

  it('accepts the message by default, stores it with U+FFFD, and records a warning naming the field in source_messages', async () => {
    const client = await MllpTestClient.connect(portOf('his-adt'));
    try {
      expect(ackCode(await client.send(admissionWithLatin1Byte('UTF8-WARN-1')))).to.equal('AA');
    } finally {
      client.close();
    }
    const log = await eventually(async () => (await db().collection('source_messages').findOne({ controlId: 'UTF8-WARN-1' })) ?? undefined, 30_000, 'the source message');
    expect(log.status).to.equal('processed');
    const warnings = log.warnings as string[];
    expect(warnings.filter((w) => w.startsWith('HL7_INVALID_UTF8'))).to.have.length(1);
    expect(warnings.find((w) => w.startsWith('HL7_INVALID_UTF8'))).to.match(/1 byte sequence\(s\) are not valid UNICODE UTF-8, the first at byte \d+ \(PID-5\)/);
    const patientRef = (log.resources as Array<{ reference: string }>).find((r) => r.reference.startsWith('Patient/'))!.reference;
    const patient = await runtime.store!.read('Patient', patientRef.split('/')[1]!) as unknown as Patient;
    expect(patient.name!.map((n) => n.family)).to.include('M\ufffdller');
  });

  it('answers AR with an ERR at PID-5 on a connector set to refuse, and stores nothing', async () => {
    const client = await MllpTestClient.connect(portOf('his-strict'));
    let ack: string;
    try {
      ack = await client.send(admissionWithLatin1Byte('UTF8-REFUSE-1'));
    } finally {
      client.close();
    }
    expect(ackCode(ack)).to.equal('AR');
    const err = ack.split('\r').find((s) => s.startsWith('ERR|'))!.split('|');
    expect(err[2]).to.equal('PID^1^5');
    expect(err[5]).to.equal('HL7_INVALID_UTF8^^HUB');
    // the warned message of the other test went through; this one never reaches the pipeline
    await eventually(async () => (await db().collection('source_messages').findOne({ controlId: 'UTF8-WARN-1' })) ?? undefined, 30_000, 'the earlier message');
    expect(await db().collection('source_messages').countDocuments({ controlId: 'UTF8-REFUSE-1' })).to.equal(0);
  });
});

import { expect } from 'chai';
import type { OperationOutcome } from 'fhir/r4.js';
import type { FhirHttpConnector } from '../../../connectors/fhir-http/fhirHttpConnector.ts';
import { mintDevToken } from '../../../hub/auth/devToken.ts';
import { KafkaTopicReader } from '../../../hub/bus/kafkaTopicReader.ts';
import type { ConsumedRecord } from '../../../hub/bus/messageBus.ts';
import { DLQ_HEADERS } from '../../../hub/pipeline/deadLetter.ts';
import { runningHub } from '../../support/runningHub.ts';
import { eventually } from '../../support/testServices.ts';
import { patient } from '../fhir/fhirSamples.ts';

/** The Patient that once stalled every partition: accepted with 202, refused by FerretDB, retried forever. */
const POISON = '{"resourceType":"Patient","birthDate":"1980-01-01","multipleBirthInteger":1e400,"name":[{"family":"A\\u0000B"}]}';

describe('values the store cannot hold are refused when pushed over FHIR HTTP (Kafka + FerretDB)', function () {
  this.timeout(90_000);
  const { config, runtime, db } = runningHub({ connectors: [{ id: 'emr-push', kind: 'fhir-http', sourceSystem: 'HIS', host: '127.0.0.1', port: 0 }] }, { api: false });
  const reader = new KafkaTopicReader(config.kafka.brokers);
  after(async () => {
    await reader.close();
  });

  async function push(body: string): Promise<Response> {
    const port = (runtime.connectors[0] as FhirHttpConnector).port!;
    // Intake may require a sender token; the hub's dev key signs one (ignored where intake is open).
    const token = await mintDevToken(config.auth!, { scope: 'system/*.write' });
    return fetch(`http://127.0.0.1:${port}/fhir`, { method: 'POST', headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${token}` }, body });
  }

  async function records(topic: string): Promise<ConsumedRecord[]> {
    const out: ConsumedRecord[] = [];
    for await (const r of reader.read(topic)) out.push(r);
    return out;
  }

  it('answers the poison Patient 400 with an OperationOutcome naming Patient.multipleBirthInteger, and keeps it out of the inbound topic', async () => {
    const res = await push(POISON);
    expect(res.status).to.equal(400);
    const outcome = await res.json() as OperationOutcome;
    expect(outcome.resourceType).to.equal('OperationOutcome');
    expect(outcome.issue[0]).to.deep.include({ severity: 'error', code: 'invalid', expression: ['Patient.multipleBirthInteger'] });
    expect(outcome.issue[0]!.diagnostics).to.contain('Infinity');

    const dead = await eventually(async () => (await records(config.kafka.topics.deadLetter)).find((r) => r.value.toString() === POISON), 20_000, 'the refusal in the dead-letter topic');
    expect(dead.headers).to.include({ [DLQ_HEADERS.code]: 'FHIR_NUMBER_NOT_FINITE', [DLQ_HEADERS.stage]: 'intake' });
    expect((await records(config.kafka.topics.fhirInbound)).some((r) => r.value.toString() === POISON)).to.equal(false);
  });

  it('names the NUL character in a name as Patient.name[0].family', async () => {
    const res = await push('{"resourceType":"Patient","name":[{"family":"A\\u0000B"}]}');
    expect(res.status).to.equal(400);
    const outcome = await res.json() as OperationOutcome;
    expect(outcome.issue[0]!.expression).to.deep.equal(['Patient.name[0].family']);
  });

  it('still accepts and stores a clean Patient pushed after them', async () => {
    const res = await push(JSON.stringify(patient('clean-1', 'MRN-CLEAN-1')));
    expect(res.status).to.equal(202);
    const log = await eventually(async () => (await db().collection('source_messages').findOne({ controlId: res.headers.get('x-hub-control-id') })) ?? undefined, 40_000, 'the clean Patient to be stored');
    expect(log.status).to.equal('processed');
  });
});

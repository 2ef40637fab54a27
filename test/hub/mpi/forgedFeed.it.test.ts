import { expect } from 'chai';
import type { Patient } from 'fhir/r4.js';
import type { FhirHttpConnector } from '../../../connectors/fhir-http/fhirHttpConnector.ts';
import type { MllpConnector } from '../../../connectors/hl7v2-mllp/mllpConnector.ts';
import { mintDevToken } from '../../../hub/auth/devToken.ts';
import { ackCode, MllpTestClient } from '../../support/mllpClient.ts';
import { runningHub } from '../../support/runningHub.ts';
import { eventually } from '../../support/testServices.ts';

const HIS_ADMISSION = [
  'MSH|^~\\&|HIS|DEMO_HOSP|HUB|DEMO_HOSP|20261123083000+0800||ADT^A01^ADT_A01|FORGE-H1|P|2.5||||||UNICODE UTF-8',
  'EVN|A01|20261123082955+0800',
  'PID|1||MRN300001^^^DEMO_HOSP^MR||张^三||19900307|M|||朝阳路1号^^北京^BJ^100020^CN^H||13800138000',
  'PV1|1|O|CLINIC^1^1^DEMO_HOSP||||||||||||||||V-F1^^^DEMO_HOSP^VN|||||||||||||||||||||||||20261123080000+0800',
].join('\r') + '\r';

/**
 * The attack of issue 11: a feed other than the HIS pushes a Patient with the HIS record's MRN,
 * name and birth date plus a death, a new phone and a new address. It is linked to the person's
 * golden Patient (it matches); survivorship must keep the HIS's facts.
 */
describe('a forged Patient from another feed cannot overwrite the HIS facts of a golden Patient (real Kafka and FerretDB)', function () {
  this.timeout(120_000);
  const { config, runtime, db } = runningHub({
    'mpi.enabled': true,
    connectors: [
      { id: 'his-adt', kind: 'hl7v2-mllp', sourceSystem: 'HIS', host: '127.0.0.1', port: 0 },
      { id: 'fhir-push', kind: 'fhir-http', sourceSystem: 'other', host: '127.0.0.1', port: 0 },
    ],
  }, { api: false });

  const sourcePatient = (predicate: Record<string, unknown>) => eventually(async () => {
    const doc = await db().collection('Patient').findOne({ ...predicate, 'resource.meta.tag.code': { $ne: 'GOLDEN_RECORD' } });
    const patient = doc?.resource as (Patient & { id: string }) | undefined;
    return patient && (await runtime.patientIndex!.goldenOf(patient.id)) ? patient : undefined;
  }, 40_000, `source Patient ${JSON.stringify(predicate)} stored and indexed`);

  it('keeps the golden Patient alive, with the HIS phone and address, and the forged record under its own source system', async () => {
    const client = await MllpTestClient.connect((runtime.connectors[0] as MllpConnector).port!);
    expect(ackCode(await client.send(HIS_ADMISSION)).code).to.equal('AA');
    client.close();
    const his = await sourcePatient({ 'resource.identifier.value': 'MRN300001' });
    const golden = (await runtime.patientIndex!.goldenOf(his.id))!;
    const mrn = his.identifier!.find((i) => i.value === 'MRN300001')!;

    const forged = {
      resourceType: 'Patient', id: 'forged-1',
      // claims to come from the HIS: the connector decides, not the payload
      meta: { source: `${config.site.identifierSystemBase}/source/HIS#FORGE-H1` },
      identifier: [mrn], name: [{ family: '张', given: ['三'] }], birthDate: '1990-03-07', gender: 'male',
      deceasedBoolean: true,
      telecom: [{ system: 'phone', value: '13999999999' }],
      address: [{ line: ['伪造路66号'], city: '北京' }],
    };
    const token = await mintDevToken(config.auth!, { scope: 'system/*.write' });
    const pushed = await fetch(`http://127.0.0.1:${(runtime.connectors[1] as FhirHttpConnector).port!}/fhir`, {
      method: 'POST', headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${token}`, 'hub-source-system': 'HIS' }, body: JSON.stringify(forged),
    });
    expect(pushed.status).to.equal(202);
    const stored = await sourcePatient({ 'resource.telecom.value': '13999999999' });
    expect(stored.meta?.source).to.match(/\/source\/other#/);
    expect(await runtime.patientIndex!.goldenOf(stored.id), 'the forged record matches the person (the attack\'s premise)').to.equal(golden);

    const g = await eventually(async () => {
      const current = await runtime.store!.read('Patient', golden) as Patient | undefined;
      return current?.link?.some((l) => l.other.reference === `Patient/${stored.id}`) ? current : undefined;
    }, 20_000, 'the golden Patient recomputed with the forged source');
    expect(g).to.not.have.property('deceasedBoolean');
    expect(g).to.not.have.property('deceasedDateTime');
    expect(g.telecom).to.deep.equal(his.telecom);
    expect(g.address).to.deep.equal(his.address);
    expect(g.telecom!.map((t) => t.value)).to.not.include('13999999999');
  });
});

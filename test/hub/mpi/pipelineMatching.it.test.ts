import { expect } from 'chai';
import type { Bundle, Patient } from 'fhir/r4.js';
import type { MllpConnector } from '../../../connectors/hl7v2-mllp/mllpConnector.ts';
import { ackCode, MllpTestClient } from '../../support/mllpClient.ts';
import { eventually } from '../../support/testServices.ts';
import { runningHub } from '../../support/runningHub.ts';

function adt(app: string, control: string, pid3: string, name: string, dob: string, sex: string, phone: string, visit: string): string {
  return [
    `MSH|^~\\&|${app}|DEMO_HOSP|HUB|DEMO_HOSP|20261123083000+0800||ADT^A01^ADT_A01|${control}|P|2.5||||||UNICODE UTF-8`,
    'EVN|A01|20261123082955+0800',
    `PID|1||${pid3}||${name}||${dob}|${sex}|||朝阳路1号^^北京^BJ^100020^CN^H||${phone}`,
    `PV1|1|O|CLINIC^1^1^DEMO_HOSP||||||||||||||||${visit}^^^DEMO_HOSP^VN|||||||||||||||||||||||||20261123080000+0800`,
  ].join('\r') + '\r';
}

describe('patient index in the running hub: HIS, LIS and PACS feeds over MLLP, real Kafka and FerretDB', function () {
  this.timeout(120_000);
  const { config, runtime, db } = runningHub({
    'mpi.enabled': true,
    connectors: [
      { id: 'his', kind: 'hl7v2-mllp', sourceSystem: 'HIS', host: '127.0.0.1', port: 0 },
      { id: 'lis', kind: 'hl7v2-mllp', sourceSystem: 'LIS', host: '127.0.0.1', port: 0 },
      { id: 'pacs', kind: 'hl7v2-mllp', sourceSystem: 'PACS', host: '127.0.0.1', port: 0 },
    ],
  });

  async function send(connector: number, message: string): Promise<void> {
    const client = await MllpTestClient.connect((runtime.connectors[connector] as MllpConnector).port!);
    try {
      expect(ackCode(await client.send(message)).code).to.equal('AA');
    } finally {
      client.close();
    }
  }

  async function sourceIdOf(mrn: string): Promise<string> {
    return eventually(async () => {
      const doc = await db().collection('Patient').findOne({ 'resource.identifier.value': mrn, 'resource.meta.tag.code': { $ne: 'GOLDEN_RECORD' } });
      const id = doc?.resource?.id as string | undefined;
      return id && (await runtime.patientIndex!.goldenOf(id)) ? id : undefined;
    }, 30_000, `Patient ${mrn} stored and indexed`);
  }

  it('links the three feeds\' records of one person to one golden Patient and keeps another person apart', async () => {
    await send(0, adt('HIS', 'H1', 'MRN100001^^^DEMO_HOSP^MR~110101199003077774^^^CHN_NHC^NI', '张^三', '19900307', 'M', '^PRN^CP^^86^138^00138000', 'V1'));
    await send(1, adt('LIS', 'L1', 'L-5521^^^LIS_LAB^MR~110101199003077774^^^CHN_NHC^NI', '张^三', '19900307', 'M', '13800138000', 'V2'));
    await send(2, adt('PACS', 'P1', 'P-77^^^PACS^MR', 'ZHANG^SAN', '19900703', 'M', '0086-13800138000', 'V3'));
    await send(0, adt('HIS', 'H2', 'MRN100002^^^DEMO_HOSP^MR~11010519851120002X^^^CHN_NHC^NI', '李^四', '19851120', 'F', '13900139000', 'V4'));

    const [his, lis, pacs, other] = [await sourceIdOf('MRN100001'), await sourceIdOf('L-5521'), await sourceIdOf('P-77'), await sourceIdOf('MRN100002')];
    const index = runtime.patientIndex!;
    const golden = (await index.goldenOf(his))!;
    expect(await index.goldenOf(lis)).to.equal(golden);
    expect(await index.goldenOf(pacs)).to.equal(golden);
    expect(await index.goldenOf(other)).to.not.equal(golden);
    expect(await index.sourcesOf(golden)).to.have.members([his, lis, pacs]);

    const res = await fetch(`${runtime.apiUrl()}/Patient/${golden}`);
    const g = await res.json() as Patient;
    expect(res.status).to.equal(200);
    expect(g.meta?.tag).to.deep.include({ system: 'urn:hub:mdm', code: 'GOLDEN_RECORD', display: 'Golden Record' });
    expect(g.birthDate).to.equal('1990-03-07');
    expect(g.link!.map((l) => l.other.reference)).to.have.members([`Patient/${his}`, `Patient/${lis}`, `Patient/${pacs}`]);

    // clinical resources keep referencing their source Patient; the golden Patient finds them all
    const enc = await (await fetch(`${runtime.apiUrl()}/Encounter?patient=${golden}`)).json() as Bundle;
    expect(enc.entry?.map((e) => (e.resource as { subject?: { reference?: string } }).subject?.reference)).to.have.members([`Patient/${his}`, `Patient/${lis}`, `Patient/${pacs}`]);
  });

  it('serves Patient/$match from the running hub', async () => {
    const res = await fetch(`${runtime.apiUrl()}/Patient/$match`, {
      method: 'POST', headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'resource', resource: { resourceType: 'Patient', name: [{ family: '李', given: ['四'] }], birthDate: '1985-11-20', gender: 'female' } }] }),
    });
    const b = await res.json() as Bundle;
    expect(res.status).to.equal(200);
    expect(b.entry?.[0]?.resource?.id).to.equal(await runtime.patientIndex!.goldenOf(await sourceIdOf('MRN100002')));
  });
});

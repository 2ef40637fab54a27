import { expect } from 'chai';
import type { Patient } from 'fhir/r4.js';
import type { FhirHttpConnector } from '../../../connectors/fhir-http/fhirHttpConnector.ts';
import { mintDevToken } from '../../../hub/auth/devToken.ts';
import { eventually } from '../../support/testServices.ts';
import { MRN_SYSTEM, transactionBundle } from '../fhir/fhirSamples.ts';
import { runningHub } from '../../support/runningHub.ts';

describe('FHIR pushed over HTTP to FerretDB, through Kafka and the hub runtime', function () {
  this.timeout(90_000);
  const { config, runtime, db } = runningHub({ connectors: [{ id: 'emr-push', kind: 'fhir-http', sourceSystem: 'HIS', host: '127.0.0.1', port: 0 }] }, { api: false });

  it('stores every entry of a pushed transaction Bundle, logged under the Bundle id', async () => {
    const port = (runtime.connectors[0] as FhirHttpConnector).port!;
    const token = await mintDevToken(config.auth!, { scope: 'system/*.write' });
    const res = await fetch(`http://127.0.0.1:${port}/fhir`, { method: 'POST', headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${token}` }, body: JSON.stringify(transactionBundle('tx-e2e-1', 'MRN900001')) });
    expect(res.status).to.equal(202);
    const log = await eventually(async () => (
      await db().collection('source_messages').findOne({ controlId: 'tx-e2e-1' }) ?? undefined
    ), 40_000, 'the pushed Bundle to be processed');
    expect(log.status).to.equal('processed');
    const refs = (log.resources as Array<{ reference: string }>).map((r) => r.reference);
    expect(refs.map((r) => r.split('/')[0]).sort()).to.deep.equal(['Encounter', 'Observation', 'Patient']);
    const patient = await runtime.store!.read('Patient', refs.find((r) => r.startsWith('Patient/'))!.split('/')[1]!) as Patient;
    expect(patient.identifier![0]).to.include({ system: MRN_SYSTEM, value: 'MRN900001' });
  });
});

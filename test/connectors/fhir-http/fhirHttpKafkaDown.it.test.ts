import { expect } from 'chai';
import { createServer } from 'node:net';
import type { OperationOutcome } from 'fhir/r4.js';
import { createConnector } from '../../../connectors/connectorRegistry.ts';
import type { FhirHttpConnector } from '../../../connectors/fhir-http/fhirHttpConnector.ts';
import { mintDevToken } from '../../../hub/auth/devToken.ts';
import { KafkaProducer } from '../../../hub/bus/kafkaBus.ts';
import { silentLogger } from '../../../hub/core/logger.ts';
import { isolatedConfig } from '../../support/testServices.ts';
import { patient } from '../fhir/fhirSamples.ts';

/** A port nothing listens on: bound by us for a moment, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('FHIR HTTP push connector when Kafka cannot be reached', function () {
  this.timeout(90_000);
  let connector: FhirHttpConnector;
  let producer: KafkaProducer;
  let url = '';
  let authorization = '';

  before(async () => {
    const brokers = `127.0.0.1:${await closedPort()}`;
    const config = { id: 'emr-push', kind: 'fhir-http', sourceSystem: 'HIS' as const, host: '127.0.0.1', port: 0, options: { path: '/fhir' } };
    const hub = isolatedConfig({ connectors: [config], 'kafka.brokers': brokers, 'kafka.deliveryTimeoutMs': 2000 });
    producer = new KafkaProducer({ brokers, clientId: 'fhir-down-test', deliveryTimeoutMs: 2000, maxQueuedMessages: 100 }, silentLogger());
    connector = createConnector({ config, hub, producer, log: silentLogger() }) as FhirHttpConnector;
    await connector.start();
    url = `http://127.0.0.1:${connector.port!}/fhir`;
    authorization = `Bearer ${await mintDevToken(hub.auth!, { scope: 'system/*.write' })}`;
  });
  after(async () => {
    await connector.stop();
    await producer.close();
  });

  it('answers 503 with an OperationOutcome and Retry-After, never a success, and turns degraded', async () => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/fhir+json', authorization }, body: JSON.stringify(patient('p-1', 'MRN1')) });
    expect(res.status).to.equal(503);
    expect(res.headers.get('retry-after')).to.equal('5');
    const outcome = await res.json() as OperationOutcome & { issue: Array<{ details?: { coding?: Array<{ code?: string }> } }> };
    expect(outcome.resourceType).to.equal('OperationOutcome');
    expect(outcome.issue[0]!.code).to.equal('transient');
    expect(outcome.issue[0]!.details!.coding![0]!.code).to.match(/^BUS_/);
    expect(connector.health().status).to.equal('degraded');
    expect(connector.metrics()).to.include({ accepted: 0, storeFailures: 1 });
  });

  it('still refuses bad input with its 4xx, warning that it could not be kept', async () => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/fhir+json', authorization }, body: '{"resourceType":"Nope"}' });
    expect(res.status).to.equal(422);
    const outcome = await res.json() as OperationOutcome;
    expect(outcome.issue.map((i) => i.severity)).to.deep.equal(['error', 'warning']);
    expect(connector.metrics()).to.include({ rejected: 1, deadLettered: 0 });
  });
});

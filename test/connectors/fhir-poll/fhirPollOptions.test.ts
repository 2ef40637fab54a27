import { expect } from 'chai';
import { connectorOptions } from '../../../connectors/connectorRegistry.ts';
import { loadConfig } from '../../../hub/config/loadConfig.ts';

describe('FHIR connector options', () => {
  it('fills in the documented defaults of the shipped push and poll entries', () => {
    const { connectors } = loadConfig({ env: {} });
    const push = connectors.find((c) => c.kind === 'fhir-http')!;
    const poll = connectors.find((c) => c.kind === 'fhir-poll')!;
    expect(push).to.deep.include({ host: '127.0.0.1', port: 2590 });
    expect(connectorOptions(push)).to.deep.equal({ path: '/fhir', maxBodyBytes: 1_000_000, stopGraceMs: 5000, auth: { mode: 'bearer' } });
    expect(poll.enabled).to.equal(false);
    expect(connectorOptions(poll)).to.deep.include({ pageSize: 100, maxPagesPerRun: 1000, timeoutMs: 30_000, schedule: '*/5 * * * *' });
  });

  it('names a poller without an upstream and a type that is not one', () => {
    const bad = { id: 'emr-poll', kind: 'fhir-poll', sourceSystem: 'HIS' as const, options: { resourceTypes: ['patient'] } };
    expect(() => connectorOptions(bad)).to.throw('connector "emr-poll" (fhir-poll): options.baseUrl is required');
    expect(() => connectorOptions({ ...bad, options: { baseUrl: 'http://up/fhir', resourceTypes: ['patient'] } })).to.throw('options.resourceTypes[0] must match pattern "^[A-Z][A-Za-z]+$"');
  });
});

import type { CapabilityStatement, CapabilityStatementRestResource } from 'fhir/r4.js';
import { R4_RESOURCE_TYPES } from '../fhir/r4ResourceTypes.ts';

/**
 * What the push endpoint can do, for clients that read `/metadata` before writing: create and
 * update of any R4 type, batch and transaction Bundles, JSON only. Nothing can be read back
 * here; that is the FHIR API's job.
 */
export function pushCapabilityStatement(url: string, date: string): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date,
    kind: 'instance',
    software: { name: 'healthcare-integration-hub FHIR intake' },
    implementation: { description: 'accepts FHIR for asynchronous ingestion; writes are answered 202 once durably queued', url },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [{
      mode: 'server',
      documentation: 'Writes are queued and processed asynchronously: 202 Accepted, no Location; read from the hub FHIR API.',
      resource: [...R4_RESOURCE_TYPES].filter((t) => t !== 'Bundle').map((type) => ({
        type: type as CapabilityStatementRestResource['type'], interaction: [{ code: 'create' as const }, { code: 'update' as const }], updateCreate: true,
      })),
      interaction: [{ code: 'batch' }, { code: 'transaction' }],
    }],
  };
}

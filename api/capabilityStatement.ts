import type { CapabilityStatement, CapabilityStatementRestResource, CapabilityStatementRestResourceOperation } from 'fhir/r4.js';
import { TYPES_WITHOUT_HISTORY } from '../hub/store/resourceStore.ts';
import { SEARCH_PARAMETERS, searchParamsOf } from '../hub/store/searchParameterTable.ts';
import type { ApiLimits } from './apiLimits.ts';

/**
 * The CapabilityStatement, generated from the same search-parameter tables the search engine
 * runs on, so it cannot claim a parameter the server does not answer.
 */
export interface CapabilityOptions {
  base: string;
  limits: ApiLimits;
  authRequired: boolean;
  /** operations mounted by extra routers, advertised as they declare them */
  operations?: Array<{ type?: string; name: string; definition: string }>;
  bulkExport?: boolean;
}

const RESOURCE_OPS: Record<string, CapabilityStatementRestResourceOperation[]> = {
  Patient: [{ name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything' }],
};

export function capabilityStatement(options: CapabilityOptions): CapabilityStatement {
  const resources: CapabilityStatementRestResource[] = Object.keys(SEARCH_PARAMETERS).sort().map((type) => {
    const defs = searchParamsOf(type);
    const versioned = !TYPES_WITHOUT_HISTORY.has(type);
    const refParams = defs.filter((d) => d.type === 'reference');
    const ops = [...(RESOURCE_OPS[type] ?? []), ...(options.operations ?? []).filter((o) => o.type === type).map((o) => ({ name: o.name, definition: o.definition }))];
    if (options.bulkExport && type === 'Patient') ops.push({ name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export' });
    return {
      type: type as CapabilityStatementRestResource['type'],
      interaction: versioned
        ? [{ code: 'read' }, { code: 'vread' }, { code: 'history-instance' }, { code: 'history-type' }, { code: 'search-type' }]
        : [{ code: 'read' }, { code: 'search-type' }],
      versioning: 'versioned',
      readHistory: versioned,
      updateCreate: false,
      conditionalRead: 'not-supported',
      searchInclude: refParams.map((d) => `${type}:${d.name}`),
      searchRevInclude: Object.entries(SEARCH_PARAMETERS).flatMap(([source, ds]) => ds
        .filter((d) => d.type === 'reference' && (!d.targets || d.targets.includes(type)))
        .map((d) => `${source}:${d.name}`)),
      searchParam: defs.map((d) => ({ name: d.name, type: d.type, ...(d.documentation ? { documentation: d.documentation } : {}) })),
      ...(ops.length ? { operation: ops } : {}),
    };
  });
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString().slice(0, 10),
    publisher: 'Healthcare integration hub',
    kind: 'instance',
    software: { name: 'healthcare-integration-hub', version: '0.1.0' },
    implementation: { description: 'FHIR R4 read and search API of the integration hub', url: options.base },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [{
      mode: 'server',
      documentation: `Search: chained parameters up to ${options.limits.maxChainDepth} deep, _has (conditions on one referring resource together), `
        + `_include/_revinclude (one level), _sort, _total, _summary, _elements, _count up to ${options.limits.maxCount}. `
        + 'Modifiers: string :exact :contains, token :not, reference :Type, all :missing. '
        + `History (type and instance): newest first, _since (instant), _count up to ${options.limits.maxCount}, _offset paging. `
        + 'Writes come from the feeds, not this API.',
      ...(options.authRequired ? {
        security: {
          cors: false,
          service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }] }],
          description: 'Bearer JWT required (RS/ES/HS signed, issuer and audience checked); SMART scopes such as user/Patient.read or system/*.read. '
            + 'patient/ scopes (patient/*.read, patient/Observation.rs) need the launch-context claim "patient" and reach only that person\'s compartment '
            + '(the golden Patient, its source Patients and their records): read, vread, instance history, search without chains or _has, Patient/{id}/$everything.',
        },
      } : {}),
      resource: resources,
      searchParam: [
        { name: '_count', type: 'number' }, { name: '_sort', type: 'string' }, { name: '_total', type: 'token' },
        { name: '_summary', type: 'token' }, { name: '_elements', type: 'string' },
      ],
      ...(options.bulkExport ? { operation: [{ name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export' }] } : {}),
    }],
  };
}

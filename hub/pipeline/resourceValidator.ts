import type { Resource } from 'fhir/r4.js';
import { HubError } from '../core/hubError.ts';
import { FHIR_ID } from '../core/fhirId.ts';

/** Checks a mapped resource before it is stored; returns the problems (empty when valid). */
export type ResourceValidator = (resource: Resource, mappingFile: string) => HubError[];

const ID = FHIR_ID;

/** The invariants every stored resource must meet whatever else validates it. */
export const basicResourceValidator: ResourceValidator = (resource, mappingFile) => {
  const problems: HubError[] = [];
  const where = `${resource.resourceType}`;
  if (!resource.id || !ID.test(resource.id)) {
    problems.push(new HubError('FHIR_ID_INVALID', `${mappingFile}: ${where}.id "${resource.id ?? ''}" is not a valid FHIR id`, { path: `${where}.id`, mappingFile }));
  }
  return problems;
};

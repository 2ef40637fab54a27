import { HubError } from '../hub/core/hubError.ts';
import type { Criterion, SearchQuery } from '../hub/store/resourceStore.ts';

const DEFAULT_COUNT = 50;
const MAX_COUNT = 1000;

function single(name: string, raw: unknown): string {
  const v = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  if (typeof v !== 'string') throw new HubError('API_PARAMETER_INVALID', `search parameter ${name} must be a string`, { path: name });
  return v;
}

function referenceValue(type: string, value: string): string {
  return value.includes('/') ? value.replace(/^.*\/(\w+\/[^/]+)$/, '$1') : `${type}/${value}`;
}

/** FHIR search parameters this endpoint understands, per resource type. */
export function searchQueryFor(type: string, params: Record<string, unknown>): SearchQuery {
  const criteria: Criterion[] = [];
  let count = DEFAULT_COUNT;
  let offset = 0;
  for (const [name, raw] of Object.entries(params)) {
    const value = single(name, raw);
    if (name === '_count') {
      count = Number(value);
      if (!Number.isInteger(count) || count < 0 || count > MAX_COUNT) throw new HubError('API_PARAMETER_INVALID', `_count must be an integer from 0 to ${MAX_COUNT}`, { path: '_count' });
      continue;
    }
    if (name === '_offset') {
      offset = Number(value);
      if (!Number.isInteger(offset) || offset < 0) throw new HubError('API_PARAMETER_INVALID', '_offset must be a non-negative integer', { path: '_offset' });
      continue;
    }
    if (name === '_format') continue;
    if (name === '_id') {
      criteria.push({ path: 'id', op: 'in', value: value.split(',') });
      continue;
    }
    if ((type === 'Encounter' || type === 'Observation' || type === 'DiagnosticReport' || type === 'Condition') && (name === 'patient' || name === 'subject')) {
      criteria.push({ path: 'subject.reference', op: 'in', value: value.split(',').map((v) => referenceValue('Patient', v)) });
      continue;
    }
    if (name === 'identifier') {
      const [system, id] = value.includes('|') ? value.split('|', 2) as [string, string] : [undefined, value];
      if (id) criteria.push({ path: 'identifier.value', op: 'eq', value: id });
      if (system) criteria.push({ path: 'identifier.system', op: 'eq', value: system });
      continue;
    }
    throw new HubError('API_PARAMETER_UNKNOWN', `unknown search parameter "${name}" for ${type}`, { path: name });
  }
  return { criteria, count, offset, total: true };
}

import { createHash } from 'node:crypto';
import { HubError } from '../core/hubError.ts';
import type { MappingRegistry } from '../mapping/mappingRegistry.ts';

/**
 * How FHIR arriving from upstream servers is normalised, read from the code maps under
 * mappings/fhir/codemaps/ (plain tables a site can override like any other mapping file):
 * identifier systems, code systems, which identifier identifies each resource type, and the
 * profiles the hub claims.
 */
export interface FhirInputRules {
  identifierSystems: Record<string, string>;
  codeSystems: Record<string, string>;
  /** resource type → identifier type codes or system URIs, in order of preference; "*" any */
  identity: Record<string, string[]>;
  profiles: Record<string, string[]>;
  /** changes whenever any of the tables changes, so lineage tells which rules produced a resource */
  version: string;
}

export const FHIR_INPUT_MAPPING_ID = 'fhir/codemaps';
const TABLES = ['identifier-systems', 'code-systems', 'resource-identity', 'profiles'] as const;

function invalid(table: string, key: string, expected: string): HubError {
  return new HubError('MAPPING_INVALID', `fhir/codemaps/${table}: "${key}" must be ${expected}`, { mappingFile: `fhir/codemaps/${table}.yaml`, path: `map.${key}` });
}

function stringTable(table: string, map: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(map)) {
    if (typeof v !== 'string' || !v) throw invalid(table, k, 'a non-empty string');
    out[k] = v;
  }
  return out;
}

function listTable(table: string, map: Record<string, unknown>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(map)) {
    const list = typeof v === 'string' ? [v] : v;
    if (!Array.isArray(list) || list.some((x) => typeof x !== 'string' || !x)) throw invalid(table, k, 'a string or a list of strings');
    out[k] = list as string[];
  }
  return out;
}

const cache = new WeakMap<MappingRegistry, FhirInputRules>();

/** The rules from a loaded registry (computed once per registry). */
export function fhirInputRules(registry: MappingRegistry): FhirInputRules {
  const hit = cache.get(registry);
  if (hit) return hit;
  const [ids, codes, identity, profiles] = TABLES.map((t) => {
    try {
      return registry.codemap(t, 'fhir').map;
    } catch (err) {
      throw new HubError('MAPPING_INVALID', `FHIR input needs mappings/fhir/codemaps/${t}.yaml: ${(err as Error).message}`, {}, { cause: err });
    }
  }) as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];
  const rules = {
    identifierSystems: stringTable('identifier-systems', ids),
    codeSystems: stringTable('code-systems', codes),
    identity: listTable('resource-identity', identity),
    profiles: listTable('profiles', profiles),
  };
  const version = createHash('sha256').update(JSON.stringify(rules)).digest('hex').slice(0, 12);
  const out = { ...rules, version };
  cache.set(registry, out);
  return out;
}

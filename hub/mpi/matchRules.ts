import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { HubError } from '../core/hubError.ts';
import { PROJECT_ROOT, describeErrors, schemaValidator } from '../core/schemaValidator.ts';

/**
 * The matching rules: which identifiers mean what, how candidates are found (blocking), how
 * each field is compared and weighted (Fellegi–Sunter m/u per outcome level), the two
 * thresholds, and how the golden record is assembled. Shape: schemas/mpi-rules.schema.json.
 */
export const COMPARATORS = {
  identifier: ['exact', 'close', 'different'],
  name: ['exact', 'pinyin', 'swapped', 'similar', 'partial', 'different'],
  birthDate: ['exact', 'transposed', 'yearOff', 'close', 'different'],
  sex: ['exact', 'different'],
  phone: ['exact', 'different'],
  address: ['exact', 'similar', 'different'],
} as const;
export type ComparatorName = keyof typeof COMPARATORS;
export type ComparisonLevel = (typeof COMPARATORS)[ComparatorName][number];

export const BLOCKING_PARTS = ['identifier', 'phone', 'birthDate', 'birthYear', 'familyName', 'givenName', 'nameTokens', 'familySoundex', 'givenSoundex', 'sex', 'postalCode'] as const;
export type BlockingPart = (typeof BLOCKING_PARTS)[number];

export interface IdentifierKind {
  kind: string;
  /** v2-0203 identifier type codes (NI, MR, PPN, SN...) */
  typeCodes?: string[];
  /** identifier systems that mean this kind whatever their type */
  systems?: string[];
  /** values compare only within the same system (MRN per assigning authority) */
  perSystem?: boolean;
  validation?: 'chineseResidentId';
}

export interface LevelWeight { m: number; u: number }

export interface FieldRule {
  name: string;
  comparator: ComparatorName;
  /** identifier comparator: which identifier kind */
  identifierKind?: string;
  /** name comparator: Jaro-Winkler cut-offs */
  similarAt?: number;
  partialAt?: number;
  levels: Partial<Record<ComparisonLevel, LevelWeight>>;
}

export type SurvivorshipStrategy = 'mostRecent' | 'mostTrustedSource' | 'mostComplete' | 'union';
export const SURVIVING_ELEMENTS = ['name', 'gender', 'birthDate', 'telecom', 'address', 'identifier', 'maritalStatus', 'communication', 'deceased'] as const;
export type SurvivingElement = (typeof SURVIVING_ELEMENTS)[number];

export interface MatchRules {
  version: number;
  identifierKinds: IdentifierKind[];
  /** maxIdentifiersPerRecord: distinct identifiers a record is blocked on (blockingKeys.ts; default 20) */
  blocking: { maxCandidates: number; maxBlockSize: number; maxIdentifiersPerRecord?: number; keys: BlockingPart[][] };
  fields: FieldRule[];
  /** log2 likelihood-ratio totals: at or above autoMerge links automatically, at or above review queues */
  thresholds: { autoMerge: number; review: number };
  survivorship: {
    sourceTrust: string[];
    elements: Partial<Record<SurvivingElement, SurvivorshipStrategy>>;
    /** per element, the only source systems that may contribute it (survivorship.ts has the defaults) */
    allowedSources?: Partial<Record<SurvivingElement, string[]>>;
  };
}

export const DEFAULT_RULES_FILE = path.join(PROJECT_ROOT, 'config', 'mpi-rules.yaml');

/** Validates parsed rules; levels a comparator does not produce are refused, not ignored. */
export function parseMatchRules(input: unknown, origin = 'rules'): MatchRules {
  const validate = schemaValidator('mpi-rules.schema.json');
  if (!validate(input)) {
    const first = describeErrors(validate.errors)[0]!;
    throw new HubError('MPI_RULES_INVALID', `invalid MPI rules (${origin}): ${first.path} ${first.message}`, { path: first.path });
  }
  const rules = input as MatchRules;
  rules.fields.forEach((f, i) => {
    const allowed = COMPARATORS[f.comparator] as readonly string[];
    for (const level of Object.keys(f.levels)) {
      if (!allowed.includes(level)) {
        throw new HubError('MPI_RULES_INVALID', `invalid MPI rules (${origin}): fields[${i}].levels.${level} is not an outcome of the ${f.comparator} comparator (${allowed.join(', ')})`, { path: `fields[${i}].levels.${level}` });
      }
    }
    if (f.comparator === 'identifier' && !rules.identifierKinds.some((k) => k.kind === f.identifierKind)) {
      throw new HubError('MPI_RULES_INVALID', `invalid MPI rules (${origin}): fields[${i}].identifierKind "${f.identifierKind ?? ''}" is not declared in identifierKinds`, { path: `fields[${i}].identifierKind` });
    }
  });
  if (rules.thresholds.review > rules.thresholds.autoMerge) {
    throw new HubError('MPI_RULES_INVALID', `invalid MPI rules (${origin}): thresholds.review must not exceed thresholds.autoMerge`, { path: 'thresholds.review' });
  }
  return rules;
}

/** Reads and checks a rules file; a relative path is taken from the project root, as config paths are. */
export function loadMatchRules(file = DEFAULT_RULES_FILE): MatchRules {
  let text: string;
  try {
    text = readFileSync(path.resolve(PROJECT_ROOT, file), 'utf8');
  } catch (err) {
    throw new HubError('MPI_RULES_UNREADABLE', `cannot read MPI rules ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw new HubError('MPI_RULES_INVALID', `MPI rules ${file} are not valid YAML: ${(err as Error).message}`);
  }
  return parseMatchRules(parsed, path.basename(file));
}

/** The Fellegi–Sunter weight of an outcome: log2(m/u); an outcome without m/u carries no evidence. */
export function levelWeight(field: FieldRule, level: ComparisonLevel): number {
  const w = field.levels[level];
  return w ? Math.log2(w.m / w.u) : 0;
}

import type { BlockingPart, MatchRules } from './matchRules.ts';
import type { PatientFeatures } from './patientFeatures.ts';
import { soundex } from './soundex.ts';

/**
 * Blocking: a record is compared only with records sharing at least one key, which keeps the
 * number of candidate pairs near-linear in the number of records. Keys are prefixed with their
 * rule index so [birthDate, familyName] and [birthDate, givenName] never collide.
 */
export const DEFAULT_MAX_IDENTIFIERS_PER_RECORD = 20;

/**
 * The identifier values a record is blocked on: distinct, the rules' strongest kinds first
 * (identifierKinds order, then the record's), at most blocking.maxIdentifiersPerRecord. A
 * message with thousands of PID-3 repetitions would otherwise put the record in thousands of
 * blocks, each read and written on every match.
 */
export function blockingIdentifiers(f: PatientFeatures, rules: Pick<MatchRules, 'blocking' | 'identifierKinds'>): string[] {
  const rank = (kind: string) => {
    const i = rules.identifierKinds.findIndex((k) => k.kind === kind);
    return i < 0 ? rules.identifierKinds.length : i;
  };
  const values = new Map<string, number>();
  for (const i of f.identifiers) {
    if (!i.valid) continue;
    const perSystem = rules.identifierKinds.find((k) => k.kind === i.kind)?.perSystem;
    const value = `${i.kind}:${perSystem ? `${i.system}:` : ''}${i.value}`;
    if (!values.has(value)) values.set(value, rank(i.kind));
  }
  // a stable sort keeps the record's order within a kind
  return [...values].sort((a, b) => a[1] - b[1]).slice(0, rules.blocking.maxIdentifiersPerRecord ?? DEFAULT_MAX_IDENTIFIERS_PER_RECORD).map(([v]) => v);
}

function partValues(part: BlockingPart, f: PatientFeatures, rules: Pick<MatchRules, 'blocking' | 'identifierKinds'>): string[] {
  switch (part) {
    case 'identifier': return blockingIdentifiers(f, rules);
    case 'phone': return f.phones;
    case 'birthDate': return f.birthDate && f.birthDate.length === 10 ? [f.birthDate] : [];
    case 'birthYear': return f.birthDate ? [f.birthDate.slice(0, 4)] : [];
    case 'familyName': return f.names.map((n) => n.family).filter(Boolean);
    case 'givenName': return f.names.map((n) => n.given).filter(Boolean);
    case 'nameTokens': return f.names.filter((n) => n.family && n.given).map((n) => [n.family, n.given].sort().join('|'));
    case 'familySoundex': return f.names.map((n) => soundex(n.family)).filter(Boolean);
    case 'givenSoundex': return f.names.map((n) => soundex(n.given)).filter(Boolean);
    case 'sex': return f.sex ? [f.sex] : [];
    case 'postalCode': return f.postalCodes;
  }
}

export function blockingKeys(f: PatientFeatures, rules: Pick<MatchRules, 'blocking' | 'identifierKinds'>): string[] {
  const keys = new Set<string>();
  rules.blocking.keys.forEach((parts, index) => {
    let combos: string[] = [String(index)];
    for (const part of parts) {
      const values = [...new Set(partValues(part, f, rules))];
      combos = combos.flatMap((prefix) => values.map((v) => `${prefix}/${v}`));
      if (!combos.length) return;
    }
    for (const c of combos) keys.add(c);
  });
  return [...keys];
}

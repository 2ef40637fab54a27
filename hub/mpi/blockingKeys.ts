import type { BlockingPart, MatchRules } from './matchRules.ts';
import type { PatientFeatures } from './patientFeatures.ts';
import { soundex } from './soundex.ts';

/**
 * Blocking: a record is compared only with records sharing at least one key, which keeps the
 * number of candidate pairs near-linear in the number of records. Keys are prefixed with their
 * rule index so [birthDate, familyName] and [birthDate, givenName] never collide.
 */
function partValues(part: BlockingPart, f: PatientFeatures, rules: Pick<MatchRules, 'identifierKinds'>): string[] {
  switch (part) {
    case 'identifier':
      return f.identifiers.filter((i) => i.valid).map((i) => {
        const perSystem = rules.identifierKinds.find((k) => k.kind === i.kind)?.perSystem;
        return `${i.kind}:${perSystem ? `${i.system}:` : ''}${i.value}`;
      });
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

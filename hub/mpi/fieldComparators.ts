import { jaroWinkler } from './jaroWinkler.ts';
import type { ComparisonLevel, FieldRule, MatchRules } from './matchRules.ts';
import type { NameForm } from './nameForms.ts';
import type { IdentifierFeature, PatientFeatures } from './patientFeatures.ts';
import { soundex } from './soundex.ts';

/**
 * One comparator per kind of field. Each answers an outcome level (strongest first in
 * COMPARATORS) or undefined when either side has nothing to compare: missing data is no evidence
 * either way.
 */
export type Outcome = ComparisonLevel | undefined;

/** Hamming distance 1, or one adjacent transposition: the usual slips when typing a number. */
function oneSlipApart(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  const diffs: number[] = [];
  for (let i = 0; i < a.length && diffs.length <= 2; i += 1) if (a[i] !== b[i]) diffs.push(i);
  if (diffs.length === 1) return true;
  return diffs.length === 2 && diffs[1] === diffs[0]! + 1 && a[diffs[0]!] === b[diffs[1]!] && a[diffs[1]!] === b[diffs[0]!];
}

export function compareIdentifiers(a: IdentifierFeature[], b: IdentifierFeature[], kind: string, perSystem: boolean): Outcome {
  const as = a.filter((i) => i.kind === kind), bs = b.filter((i) => i.kind === kind);
  if (!as.length || !bs.length) return undefined;
  let comparable = false, close = false;
  for (const x of as) {
    for (const y of bs) {
      if (perSystem && x.system !== y.system) continue;
      if (x.value === y.value) return 'exact';
      if (x.valid && y.valid) comparable = true;
      else if (oneSlipApart(x.value, y.value)) close = true;
    }
  }
  if (close) return 'close';
  // a number that fails its checksum was mistyped somewhere: it cannot say "different person"
  return comparable ? 'different' : undefined;
}

export function compareNames(a: NameForm[], b: NameForm[], similarAt = 0.92, partialAt = 0.8): Outcome {
  if (!a.length || !b.length) return undefined;
  const rank = ['exact', 'pinyin', 'swapped', 'similar', 'partial', 'different'] as const;
  let best = rank.length - 1;
  for (const x of a) {
    for (const y of b) {
      let level: number;
      const sameRoman = x.family === y.family && x.given === y.given;
      if (x.writtenFamily === y.writtenFamily && x.writtenGiven === y.writtenGiven) level = 0;
      else if (sameRoman && x.family + x.given) level = x.han === y.han && !x.han ? 0 : 1;
      else if (x.family === y.given && x.given === y.family && x.family && x.given) level = 2;
      else {
        const jw = jaroWinkler(x.family + ' ' + x.given, y.family + ' ' + y.given);
        const phonetic = x.family && x.given && soundex(x.family) === soundex(y.family) && soundex(x.given) === soundex(y.given);
        if (jw >= similarAt || phonetic) level = 3;
        else if (jw >= partialAt || (x.family && x.family === y.family)) level = 4;
        else level = 5;
      }
      if (level < best) best = level;
      if (best === 0) return 'exact';
    }
  }
  return rank[best];
}

export function compareBirthDates(a: string | undefined, b: string | undefined): Outcome {
  if (!a || !b) return undefined;
  if (a === b) return 'exact';
  if (a.length < 10 || b.length < 10) return a.slice(0, 4) === b.slice(0, 4) ? 'close' : 'different';
  const [ya, ma, da] = [a.slice(0, 4), a.slice(5, 7), a.slice(8, 10)];
  const [yb, mb, db] = [b.slice(0, 4), b.slice(5, 7), b.slice(8, 10)];
  if (ya === yb && ma === db && da === mb) return 'transposed';
  if (ma === mb && da === db && Math.abs(Number(ya) - Number(yb)) === 1) return 'yearOff';
  if (oneSlipApart(ya + ma + da, yb + mb + db)) return 'close';
  return 'different';
}

export function compareSex(a: string | undefined, b: string | undefined): Outcome {
  if (!a || !b) return undefined;
  return a === b ? 'exact' : 'different';
}

export function comparePhones(a: string[], b: string[]): Outcome {
  if (!a.length || !b.length) return undefined;
  return a.some((p) => b.includes(p)) ? 'exact' : 'different';
}

function bigrams(text: string): Set<string> {
  const s = text.replace(/\s+/g, '');
  const out = new Set<string>();
  for (let i = 0; i < s.length - 1; i += 1) out.add(s.slice(i, i + 2));
  return out;
}

/** Character bigram overlap: works alike for 朝阳路1号 and "12 High Street". */
export function addressSimilarity(a: string, b: string): number {
  if (a === b) return 1;
  const x = bigrams(a), y = bigrams(b);
  if (!x.size || !y.size) return 0;
  let common = 0;
  for (const g of x) if (y.has(g)) common += 1;
  return common / (x.size + y.size - common);
}

export function compareAddresses(a: string[], b: string[]): Outcome {
  if (!a.length || !b.length) return undefined;
  let best = 0;
  for (const x of a) for (const y of b) best = Math.max(best, addressSimilarity(x, y));
  return best >= 0.85 ? 'exact' : best >= 0.45 ? 'similar' : 'different';
}

export function compareField(field: FieldRule, a: PatientFeatures, b: PatientFeatures, rules: Pick<MatchRules, 'identifierKinds'>): Outcome {
  switch (field.comparator) {
    case 'identifier': {
      const kind = rules.identifierKinds.find((k) => k.kind === field.identifierKind);
      return compareIdentifiers(a.identifiers, b.identifiers, field.identifierKind ?? '', kind?.perSystem ?? false);
    }
    case 'name': return compareNames(a.names, b.names, field.similarAt, field.partialAt);
    case 'birthDate': return compareBirthDates(a.birthDate, b.birthDate);
    case 'sex': return compareSex(a.sex, b.sex);
    case 'phone': return comparePhones(a.phones, b.phones);
    case 'address': return compareAddresses(a.addresses, b.addresses);
  }
}

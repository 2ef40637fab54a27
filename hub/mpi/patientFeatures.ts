import type { Address, Patient } from 'fhir/r4.js';
import { isValidResidentId, normalizeResidentId } from './chineseResidentId.ts';
import type { IdentifierKind, MatchRules } from './matchRules.ts';
import { nameFormsOf, type NameForm } from './nameForms.ts';

/**
 * What the matcher compares, extracted once per source Patient (and stored with it, so a
 * candidate is scored without re-reading and re-romanising its resource).
 */
export interface IdentifierFeature {
  kind: string;
  system: string;
  value: string;
  /** false when the kind has a checksum and the value fails it */
  valid: boolean;
}

export interface PatientFeatures {
  id: string;
  sourceSystem?: string;
  names: NameForm[];
  birthDate?: string;
  sex?: 'male' | 'female';
  phones: string[];
  identifiers: IdentifierFeature[];
  /** normalised address strings (one per address), and postal codes */
  addresses: string[];
  postalCodes: string[];
}

/** Digits only, without the 00/+86 country prefix, so 0086 138..., +86 138... and 138... agree. */
export function normalizePhone(value: string): string {
  let digits = value.replace(/\D/g, '');
  if (digits.startsWith('00')) digits = digits.slice(2);
  if (digits.startsWith('86') && digits.length >= 12) digits = digits.slice(2);
  return digits;
}

export function normalizeAddress(a: Address): string {
  const parts = [...(a.line ?? []), a.district, a.city, a.state].filter((p): p is string => !!p);
  return parts.join(' ').normalize('NFC').toLowerCase().replace(/[\s,.#\-号]+/g, ' ').trim();
}

function identifierKindOf(typeCodes: string[], system: string, kinds: IdentifierKind[]): IdentifierKind | undefined {
  return kinds.find((k) => (k.systems ?? []).includes(system)) ?? kinds.find((k) => typeCodes.some((c) => (k.typeCodes ?? []).includes(c)));
}

export function patientFeatures(patient: Patient & { id: string }, rules: Pick<MatchRules, 'identifierKinds'>, sourceSystem?: string): PatientFeatures {
  const identifiers: IdentifierFeature[] = [];
  for (const ident of patient.identifier ?? []) {
    if (!ident.value || ident.use === 'old') continue;
    const typeCodes = (ident.type?.coding ?? []).map((c) => c.code ?? '').filter(Boolean);
    const system = ident.system ?? '';
    const kind = identifierKindOf(typeCodes, system, rules.identifierKinds);
    if (!kind) continue;
    const value = kind.validation === 'chineseResidentId' ? normalizeResidentId(ident.value) : ident.value.trim().toUpperCase();
    const valid = kind.validation === 'chineseResidentId' ? isValidResidentId(value) : true;
    if (!identifiers.some((i) => i.kind === kind.kind && i.system === system && i.value === value)) identifiers.push({ kind: kind.kind, system, value, valid });
  }
  const phones = [...new Set((patient.telecom ?? []).filter((t) => (t.system === 'phone' || t.system === 'sms') && t.value).map((t) => normalizePhone(t.value!)).filter((p) => p.length >= 7))];
  const addresses = [...new Set((patient.address ?? []).filter((a) => a.use !== 'old').map(normalizeAddress).filter(Boolean))];
  const postalCodes = [...new Set((patient.address ?? []).map((a) => a.postalCode?.replace(/\s/g, '')).filter((p): p is string => !!p))];
  const birthDate = patient.birthDate && /^\d{4}(-\d{2}(-\d{2})?)?$/.test(patient.birthDate) ? patient.birthDate : undefined;
  const sex = patient.gender === 'male' || patient.gender === 'female' ? patient.gender : undefined;
  return {
    id: patient.id,
    ...(sourceSystem ? { sourceSystem } : {}),
    names: nameFormsOf(patient.name),
    ...(birthDate ? { birthDate } : {}),
    ...(sex ? { sex } : {}),
    phones, identifiers, addresses, postalCodes,
  };
}

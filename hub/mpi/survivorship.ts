import type { Patient, PatientLink } from 'fhir/r4.js';
import type { MatchRules, SurvivingElement, SurvivorshipStrategy } from './matchRules.ts';

/**
 * The golden Patient is a pure function of its linked source records and the rules, so it can
 * be recomputed at any time (after a link, an update, an unmerge) and never needs a source to be
 * altered. Ties are broken by source id, so the same sources always give the same golden record.
 * Sources are trusted by rule, not by what they send: `mostTrustedSource` takes the element
 * from the highest `sourceTrust` system that has it (the most recent record of that system),
 * and `allowedSources` keeps an element to named systems, so one feed cannot overwrite
 * another's facts. A source's system is the connector it came through (meta.source), never
 * anything in its payload.
 */
export const GOLDEN_TAG = { system: 'urn:hub:mdm', code: 'GOLDEN_RECORD', display: 'Golden Record' } as const;

export interface GoldenSource {
  resource: Patient & { id: string };
  sourceSystem: string;
  /** when the source record last changed (ISO); drives "most recent" */
  updatedAt: string;
}

const ELEMENT_KEYS: Record<SurvivingElement, Array<keyof Patient>> = {
  name: ['name'], gender: ['gender'], birthDate: ['birthDate'], telecom: ['telecom'], address: ['address'],
  identifier: ['identifier'], maritalStatus: ['maritalStatus'], communication: ['communication'],
  deceased: ['deceasedBoolean', 'deceasedDateTime'],
};

const ARRAY_ELEMENTS = new Set<SurvivingElement>(['name', 'telecom', 'address', 'identifier', 'communication']);

const DEFAULT_STRATEGY: SurvivorshipStrategy = 'mostRecent';

/**
 * Elements only some source systems may state, unless the rules say otherwise: a death is
 * registered at the HIS, and a lab result feed or a pushed FHIR record claiming one must not
 * make the person deceased for everyone. Any element not named here takes every source.
 */
export const DEFAULT_ALLOWED_SOURCES: Readonly<Partial<Record<SurvivingElement, readonly string[]>>> = { deceased: ['HIS'] };

function present(value: unknown): boolean {
  return value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0) && value !== '';
}

function elementOf(p: Patient, element: SurvivingElement): Partial<Patient> | undefined {
  const out: Partial<Patient> = {};
  for (const k of ELEMENT_KEYS[element]) if (present(p[k])) (out as Record<string, unknown>)[k] = p[k];
  return Object.keys(out).length ? out : undefined;
}

export function isGoldenPatient(p: { meta?: Patient['meta'] } | undefined): boolean {
  return !!p?.meta?.tag?.some((t) => t.system === GOLDEN_TAG.system && t.code === GOLDEN_TAG.code);
}

export function buildGoldenPatient(goldenId: string, sources: GoldenSource[], rules: Pick<MatchRules, 'survivorship'>, extraLinks: PatientLink[] = []): Patient & { id: string } {
  const trust = rules.survivorship.sourceTrust;
  const allowedSources = { ...DEFAULT_ALLOWED_SOURCES, ...rules.survivorship.allowedSources };
  // a source outside an element's allowed systems is not there as far as that element goes
  const contributors = (element: SurvivingElement, list: GoldenSource[]) => {
    const allowed = allowedSources[element];
    return allowed ? list.filter((s) => allowed.includes(s.sourceSystem)) : list;
  };
  const rank = (s: GoldenSource) => { const i = trust.indexOf(s.sourceSystem); return i < 0 ? trust.length : i; };
  const byId = [...sources].sort((a, b) => (a.resource.id < b.resource.id ? -1 : 1));
  const byRecent = [...byId].sort((a, b) => (a.updatedAt === b.updatedAt ? 0 : a.updatedAt > b.updatedAt ? -1 : 1));
  const byTrust = [...byRecent].sort((a, b) => rank(a) - rank(b));

  const golden: Patient & { id: string } = {
    resourceType: 'Patient', id: goldenId, meta: { tag: [{ ...GOLDEN_TAG }] }, active: true,
  };
  for (const element of Object.keys(ELEMENT_KEYS) as SurvivingElement[]) {
    const strategy = rules.survivorship.elements[element] ?? DEFAULT_STRATEGY;
    let chosen: Partial<Patient> | undefined;
    if (strategy === 'union') {
      const seen = new Set<string>();
      const merged: unknown[] = [];
      for (const s of contributors(element, byTrust)) {
        for (const k of ELEMENT_KEYS[element]) {
          const v = s.resource[k];
          for (const item of Array.isArray(v) ? v : present(v) ? [v] : []) {
            const key = JSON.stringify(item);
            if (!seen.has(key)) { seen.add(key); merged.push(item); }
          }
        }
      }
      const key = ELEMENT_KEYS[element][0]!;
      // a single-valued element (gender, birthDate) cannot hold a union: the most trusted value wins
      if (merged.length) chosen = { [key]: ARRAY_ELEMENTS.has(element) ? merged : merged[0] } as Partial<Patient>;
    } else {
      const order = contributors(element, strategy === 'mostRecent' ? byRecent
        : strategy === 'mostTrustedSource' ? byTrust
          : [...byTrust].sort((a, b) => JSON.stringify(elementOf(b.resource, element) ?? '').length - JSON.stringify(elementOf(a.resource, element) ?? '').length));
      for (const s of order) {
        chosen = elementOf(s.resource, element);
        if (chosen) break;
      }
    }
    if (chosen) Object.assign(golden, structuredClone(chosen));
  }
  golden.link = [
    ...byId.map((s): PatientLink => ({ other: { reference: `Patient/${s.resource.id}` }, type: 'seealso' })),
    ...extraLinks,
  ];
  return golden;
}

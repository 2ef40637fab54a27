import type { Patient, PatientLink } from 'fhir/r4.js';
import { deterministicId } from '../core/deterministicId.ts';
import { HubError } from '../core/hubError.ts';
import type { Logger } from '../core/logger.ts';
import type { ResourceStore, StoredResource } from '../store/resourceStore.ts';
import { blockingKeys } from './blockingKeys.ts';
import type { MatchRules } from './matchRules.ts';
import { scorePair, type PairScore } from './matchScorer.ts';
import type { LeaseManager } from './mpiLeases.ts';
import type { AuditEntry, LinkRecord, ReviewItem, SourceEntry } from './mpiRecords.ts';
import type { MpiRepository } from './mpiRepository.ts';
import type { PatientIndexReader } from './patientIndexReader.ts';
import { patientFeatures } from './patientFeatures.ts';
import { buildGoldenPatient, GOLDEN_TAG, isGoldenPatient, type GoldenSource } from './survivorship.ts';

export interface PatientIndexDeps {
  store: ResourceStore;
  repo: MpiRepository;
  leases: LeaseManager;
  rules: MatchRules;
  log: Logger;
  now?: () => Date;
}

export interface IndexOutcome {
  source: string;
  golden: string;
  action: 'linked' | 'new-golden' | 'updated' | 'unchanged' | 'skipped';
  score?: number;
  reviews: number;
}

export function sourceSystemOf(p: Patient): string {
  return /\/source\/([^#]+)/.exec(p.meta?.source ?? '')?.[1] ?? 'other';
}

const idOf = (ref: string) => ref.replace(/^Patient\//, '');

/**
 * The master patient index: keeps one golden Patient per person over the source Patients the
 * feeds deliver. Every operation that can race with another worker runs under leases on the
 * blocking keys it reads and the golden Patients it changes (see mpiLeases.ts).
 */
export class PatientIndex implements PatientIndexReader {
  readonly store: ResourceStore;
  readonly repo: MpiRepository;
  readonly leases: LeaseManager;
  rules: MatchRules;
  readonly log: Logger;
  readonly now: () => Date;

  constructor(deps: PatientIndexDeps) {
    this.store = deps.store; this.repo = deps.repo; this.leases = deps.leases; this.rules = deps.rules; this.log = deps.log;
    this.now = deps.now ?? (() => new Date());
  }

  timestamp(): string {
    return this.now().toISOString();
  }

  async audit(entry: Omit<AuditEntry, 'at'>): Promise<void> {
    await this.repo.audit({ at: this.timestamp(), ...entry });
  }

  // ---- read side -------------------------------------------------------------------------

  async goldenOf(sourcePatientId: string): Promise<string | undefined> {
    return (await this.repo.getLink(idOf(sourcePatientId)))?.golden;
  }

  async sourcesOf(goldenPatientId: string): Promise<string[]> {
    return (await this.repo.linksOfGolden(idOf(goldenPatientId))).map((l) => l._id);
  }

  async isGolden(patientId: string): Promise<boolean> {
    return isGoldenPatient(await this.store.read('Patient', idOf(patientId)));
  }

  async survivorOf(goldenPatientId: string): Promise<string | undefined> {
    let id = idOf(goldenPatientId);
    let survivor: string | undefined;
    for (let hops = 0; hops < 32; hops += 1) {
      const g = await this.store.read('Patient', id);
      const next = g?.resourceType === 'Patient' ? (g as Patient).link?.find((l) => l.type === 'replaced-by')?.other.reference : undefined;
      if (!next) return survivor;
      survivor = id = idOf(next);
    }
    return survivor;
  }

  /** The active golden Patient for a source or golden id (following merges). */
  async resolveGolden(ref: string): Promise<string> {
    const id = idOf(ref);
    const p = await this.store.read('Patient', id);
    if (!p) throw new HubError('MPI_PATIENT_NOT_FOUND', `Patient/${id} is not known`);
    if (isGoldenPatient(p)) return (await this.survivorOf(id)) ?? id;
    let link = await this.repo.getLink(id);
    if (!link) {
      await this.indexSource(id);
      link = await this.repo.getLink(id);
    }
    if (!link) throw new HubError('MPI_PATIENT_NOT_INDEXED', `Patient/${id} is not in the patient index`, { httpStatus: 422 });
    return link.golden;
  }

  // ---- incremental matching --------------------------------------------------------------

  /** Candidates scored against a feature set, grouped by the golden Patient they belong to. */
  async scoreCandidates(entry: Pick<SourceEntry, '_id' | 'features' | 'keys'>): Promise<Map<string, { source: string; score: PairScore }>> {
    const ids = await this.repo.candidateIds(entry.keys, entry._id, this.rules.blocking.maxCandidates, this.rules.blocking.maxBlockSize);
    const [candidates, links, noMatch] = await Promise.all([this.repo.getSources(ids), this.repo.getLinks(ids), this.repo.noMatchesOf(entry._id)]);
    const goldenOf = new Map(links.map((l) => [l._id, l.golden]));
    const blocked = new Set(noMatch.map((s) => goldenOf.get(s)).filter((g): g is string => !!g));
    const best = new Map<string, { source: string; score: PairScore }>();
    for (const c of candidates) {
      const golden = goldenOf.get(c._id);
      if (!golden || blocked.has(golden)) continue;
      const score = scorePair(entry.features, c.features, this.rules);
      if (score.score < this.rules.thresholds.review) continue;
      const prev = best.get(golden);
      if (!prev || score.score > prev.score.score) best.set(golden, { source: c._id, score });
    }
    return best;
  }

  /** Matches one source Patient (new or updated) into the index. Idempotent. */
  async indexSource(ref: string): Promise<IndexOutcome> {
    const id = idOf(ref);
    const patient = await this.store.read('Patient', id) as (Patient & { id: string }) | undefined;
    if (!patient || isGoldenPatient(patient)) return { source: id, golden: '', action: 'skipped', reviews: 0 };
    const sourceSystem = sourceSystemOf(patient);
    const features = patientFeatures(patient, this.rules, sourceSystem);
    const keys = blockingKeys(features, this.rules);
    const updatedAt = patient.meta?.lastUpdated ?? '';
    const previous = await this.repo.getSource(id);
    const link0 = await this.repo.getLink(id);
    if (previous && link0 && previous.updatedAt === updatedAt && sameKeys(previous.keys, keys)) {
      return { source: id, golden: link0.golden, action: 'unchanged', reviews: 0 };
    }
    return this.leases.withLeases([...keys, ...(previous?.keys ?? [])].map((k) => `block:${k}`), async (held) => {
      const entry: SourceEntry = { _id: id, features, keys, sourceSystem, updatedAt };
      await this.repo.putSource(entry, previous?.keys ?? []);
      const scored = await this.scoreCandidates(entry);
      const link = await this.repo.getLink(id);
      let golden: string;
      let action: IndexOutcome['action'];
      let score: number | undefined;
      if (link) {
        golden = link.golden;
        action = 'updated';
        await this.leases.withLeases([`golden:${golden}`], () => this.refreshGolden(golden), held);
        await this.audit({ action: 'SOURCE_UPDATED', who: 'system', source: id, golden });
      } else {
        const ranked = [...scored.entries()].sort((a, b) => b[1].score.score - a[1].score.score);
        const top = ranked[0];
        if (top && top[1].score.classification === 'MATCH') {
          golden = top[0];
          score = top[1].score.score;
          action = 'linked';
          const fields = top[1].score.fields;
          const why = `auto-match with Patient/${top[1].source}`;
          golden = await this.linkUnderLease(golden, held, { _id: id, state: 'MATCH', linkSource: 'AUTO', score, fields, who: 'system', why, at: this.timestamp(), version: 1 });
          await this.audit({ action: 'LINK_AUTO', who: 'system', source: id, golden, score, other: top[1].source });
        } else {
          golden = await this.newGoldenId(id);
          action = 'new-golden';
          await this.leases.withLeases([`golden:${golden}`], async () => {
            await this.link({ _id: id, golden, state: 'MATCH', linkSource: 'AUTO', who: 'system', why: 'no match above the auto-merge threshold', at: this.timestamp(), version: 1 });
            await this.refreshGolden(golden);
          }, held);
          await this.audit({ action: 'NEW_GOLDEN', who: 'system', source: id, golden });
        }
      }
      let reviews = 0;
      for (const [candidateGolden, { score: s }] of scored) {
        if (candidateGolden === golden) continue;
        await this.queueReview(id, candidateGolden, s);
        reviews += 1;
      }
      return { source: id, golden, action, ...(score !== undefined ? { score } : {}), reviews };
    });
  }

  /**
   * Links a source to a golden Patient under its lease; if that golden was merged away meanwhile
   * the link goes to its survivor. Answers the golden actually linked.
   */
  async linkUnderLease(target: string, held: Set<string>, link: Omit<LinkRecord, 'golden'>): Promise<string> {
    let golden = target;
    for (let hop = 0; hop < 8; hop += 1) {
      const next = await this.leases.withLeases([`golden:${golden}`], async () => {
        const active = (await this.survivorOf(golden)) ?? golden;
        if (active !== golden) return active;
        await this.link({ ...link, golden });
        await this.refreshGolden(golden);
        return undefined;
      }, held);
      if (!next) return golden;
      golden = next;
    }
    throw new HubError('MPI_MERGE_CHAIN_TOO_LONG', `Patient/${target} is merged through more than 8 golden records`);
  }

  async queueReview(source: string, golden: string, s: PairScore): Promise<void> {
    const at = this.timestamp();
    const item: ReviewItem = {
      _id: deterministicId('mpi-review', source, golden), source, golden, score: s.score, fields: s.fields,
      thresholds: s.thresholds, status: 'OPEN', createdAt: at, updatedAt: at,
    };
    await this.repo.upsertOpenReview(item);
    await this.audit({ action: 'REVIEW_QUEUED', who: 'system', source, golden, score: s.score });
  }

  private async link(link: LinkRecord): Promise<void> {
    if (!(await this.repo.putLink(link, 0))) {
      throw new HubError('MPI_LINK_CONFLICT', `Patient/${link._id} was linked by another worker at the same time`);
    }
  }

  /** A fresh golden id for a source; a retired golden is never brought back under a new meaning. */
  async newGoldenId(source: string, salt?: string): Promise<string> {
    const first = deterministicId('mpi-golden', source, salt);
    if (!(await this.store.read('Patient', first))) return first;
    return deterministicId('mpi-golden', source, salt, this.timestamp(), Math.random());
  }

  // ---- golden records --------------------------------------------------------------------

  /** Recomputes a golden Patient from its linked sources (caller holds its lease). */
  async refreshGolden(golden: string): Promise<void> {
    const links = await this.repo.linksOfGolden(golden);
    if (!links.length) return;
    const byId = new Map((await this.store.readMany('Patient', links.map((l) => l._id))).map((r) => [r.id, r]));
    const sources: GoldenSource[] = [];
    for (const l of links) {
      const r = byId.get(l._id);
      if (r) sources.push({ resource: r as Patient & { id: string }, sourceSystem: sourceSystemOf(r as Patient), updatedAt: r.meta?.lastUpdated ?? '' });
    }
    const replaces: PatientLink[] = (await this.repo.appliedMergesInto(golden)).map((m) => ({ other: { reference: `Patient/${m.from}` }, type: 'replaces' }));
    const resource = buildGoldenPatient(golden, sources, this.rules, replaces);
    await this.store.write({ resource: resource as StoredResource });
  }

  /** Marks a golden Patient merged away: inactive, replaced-by the survivor (caller holds both leases). */
  async retireGolden(golden: string, survivor: string): Promise<void> {
    const current = (await this.store.read('Patient', golden)) as Patient | undefined;
    const { meta: _meta, ...content } = current ?? { resourceType: 'Patient' as const };
    const retired = {
      ...content, resourceType: 'Patient' as const, id: golden, meta: { tag: [{ ...GOLDEN_TAG }] }, active: false,
      link: [{ other: { reference: `Patient/${survivor}` }, type: 'replaced-by' as const }],
    };
    await this.store.write({ resource: retired as StoredResource });
  }
}

function sameKeys(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((k) => b.includes(k));
}

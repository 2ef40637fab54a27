import type { Collection, Db } from 'mongodb';
import type { SearchIndex } from './searchIndex.ts';
import { PATIENT_COMPARTMENT } from './searchParameterTable.ts';

/**
 * For each Patient, the ids of the resources of each type that name it (`<Type>|Patient/<id>`
 * -> ids), kept beside the resources. FerretDB v1 answers only `_id` equality without scanning
 * a whole collection, so the patient 360 reads these lists and then each resource by id
 * instead of scanning every clinical collection. Written after the resource (a crash in
 * between leaves a list short until `reindex`), never read for anything but membership.
 */
interface PostingDoc {
  _id: string;
  ids: string[];
}

function patientRefs(type: string, index: SearchIndex | undefined): string[] {
  const param = PATIENT_COMPARTMENT[type]?.[0];
  const refs = param ? index?.[param] : undefined;
  return Array.isArray(refs) ? refs : [];
}

export class PatientPostings {
  constructor(private readonly db: Db) {}

  private get coll(): Collection<PostingDoc> {
    return this.db.collection<PostingDoc>('patient_postings');
  }

  /** Moves `id` from the lists of the Patients it named before to those it names now. */
  async update(type: string, id: string, before: SearchIndex | undefined, after: SearchIndex): Promise<void> {
    if (!PATIENT_COMPARTMENT[type]) return;
    const old = new Set(patientRefs(type, before));
    const now = new Set(patientRefs(type, after));
    for (const ref of now) if (!old.has(ref)) await this.coll.updateOne({ _id: `${type}|${ref}` }, { $addToSet: { ids: id } }, { upsert: true });
    for (const ref of old) if (!now.has(ref)) await this.coll.updateOne({ _id: `${type}|${ref}` }, { $pull: { ids: id } });
  }

  /** Ids of `type` resources that name any of the Patients (`Patient/<id>`). */
  async idsFor(type: string, patientRefs: string[]): Promise<string[]> {
    const docs = await Promise.all(patientRefs.map((ref) => this.coll.findOne({ _id: `${type}|${ref}` })));
    return [...new Set(docs.flatMap((d) => d?.ids ?? []))];
  }
}

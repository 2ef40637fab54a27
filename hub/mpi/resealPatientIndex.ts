import type { Binary, Db } from 'mongodb';
import { isDuplicateKeyOnly } from '../store/postingStore.ts';
import { openJson, sealBytes, sealJson } from '../store/fieldProtector.ts';
import type { ResealCount, Resealer } from '../store/resealStore.ts';
import { blockId, MPI_COLLECTIONS, storedBlockKey, type SealedSourceDoc, type StoredMerge } from './mongoMpiRepository.ts';
import type { SourceEntry } from './mpiRecords.ts';

const bytes = (b: Binary) => Buffer.from(b.buffer);

/**
 * `hub keys rotate` for the patient index (see hub/store/resealStore.ts): source entries and merge
 * snapshots sealed with an older key are sealed again; entries still in clear are sealed and
 * their blocking keys replaced by keyed hashes (new block ids first, clear ones removed after).
 * Compare-and-set on what was read, so a running hub's writes win.
 */
export async function resealPatientIndex(db: Db, r: Resealer): Promise<ResealCount[]> {
  const sources: ResealCount = { collection: MPI_COLLECTIONS.sources, resealed: 0, sealed: 0, skipped: 0 };
  const sourceColl = db.collection<SourceEntry | SealedSourceDoc>(MPI_COLLECTIONS.sources);
  const blocks = db.collection<{ _id: string }>(MPI_COLLECTIONS.blocks);
  for await (const doc of sourceColl.find({}).sort({ _id: 1 }).batchSize(500)) {
    const context = `mpi_sources/${doc._id}`;
    if ('sealed' in doc) {
      if (r.isCurrent(bytes(doc.sealed))) continue;
      if (r.dryRun) { sources.resealed += 1; continue; }
      const again = sealBytes(r.protector, r.protector.open(bytes(doc.sealed), context), context);
      const done = await sourceColl.updateOne({ _id: doc._id, sealed: doc.sealed }, { $set: { sealed: again } });
      if (done.matchedCount) sources.resealed += 1;
      else sources.skipped += 1;
      continue;
    }
    if (r.dryRun) { sources.sealed += 1; continue; }
    const hashed = doc.keys.map((k) => blockId(storedBlockKey(k, r.protector), doc._id));
    if (hashed.length) {
      try {
        await blocks.insertMany(hashed.map((_id) => ({ _id })), { ordered: false });
      } catch (err) {
        if (!isDuplicateKeyOnly(err)) throw err;
      }
    }
    const sealed = sealJson(r.protector, { features: doc.features, keys: doc.keys }, context);
    const done = await sourceColl.updateOne({ _id: doc._id, updatedAt: doc.updatedAt, sealed: { $exists: false } } as never, { $set: { sealed }, $unset: { features: '', keys: '' } });
    if (done.matchedCount) {
      if (doc.keys.length) await blocks.deleteMany({ _id: { $in: doc.keys.map((k) => blockId(k, doc._id)) } });
      sources.sealed += 1;
    } else sources.skipped += 1; // re-indexed meanwhile: its own keys are written; extra ones only add a candidate to score
  }

  const merges: ResealCount = { collection: MPI_COLLECTIONS.merges, resealed: 0, sealed: 0, skipped: 0 };
  const mergeColl = db.collection<StoredMerge>(MPI_COLLECTIONS.merges);
  for await (const doc of mergeColl.find({}).sort({ _id: 1 }).batchSize(500)) {
    const context = `mpi_merges/${doc._id}`;
    if (doc.sealedGoldenBefore) {
      if (r.isCurrent(bytes(doc.sealedGoldenBefore))) continue;
      if (r.dryRun) { merges.resealed += 1; continue; }
      const again = sealJson(r.protector, openJson(r.protector, doc.sealedGoldenBefore, context), context);
      const done = await mergeColl.updateOne({ _id: doc._id, sealedGoldenBefore: doc.sealedGoldenBefore }, { $set: { sealedGoldenBefore: again } });
      if (done.matchedCount) merges.resealed += 1;
      else merges.skipped += 1;
      continue;
    }
    if (!Object.keys(doc.goldenBefore ?? {}).length) continue;
    if (r.dryRun) { merges.sealed += 1; continue; }
    const done = await mergeColl.updateOne({ _id: doc._id, sealedGoldenBefore: { $exists: false } }, { $set: { goldenBefore: {}, sealedGoldenBefore: sealJson(r.protector, doc.goldenBefore, context) } });
    if (done.matchedCount) merges.sealed += 1;
    else merges.skipped += 1;
  }
  return [sources, merges];
}

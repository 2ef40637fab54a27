import type { InboundEnvelope } from '../core/inboundEnvelope.ts';
import type { NormalizedMessage } from '../pipeline/hl7v2Normalizer.ts';
import { indexSources } from './batchIndexing.ts';
import { applyDirective } from './patientMerges.ts';
import type { PatientIndex } from './patientIndex.ts';

/**
 * The pipeline's onProcessed hook: each source Patient a message wrote is matched, then the
 * message's A40/A37 directives are applied. Unchanged Patients are looked at too (cheaply:
 * indexSource returns at once when nothing changed), so a replay after a crash between storing
 * and indexing still indexes the record.
 */
export function patientIndexHook(index: PatientIndex): (result: NormalizedMessage, envelope?: InboundEnvelope) => Promise<void> {
  return async (result) => {
    for (const w of result.written) {
      if (!w.reference.startsWith('Patient/') || w.result.outcome === 'stale') continue;
      await index.indexSource(w.reference);
    }
    for (const d of result.directives ?? []) await applyDirective(index, d);
  };
}

/**
 * The same for a batch of messages: the source Patients of every message matched together
 * (batchIndexing.ts). A batch with identity statements (A40, A37) is taken message by message,
 * because a statement must act before the messages after it are matched.
 */
export function patientIndexBatchHook(index: PatientIndex): (results: NormalizedMessage[]) => Promise<void> {
  const single = patientIndexHook(index);
  return async (results) => {
    if (results.some((r) => r.directives?.length)) {
      for (const r of results) await single(r);
      return;
    }
    const ids = results.flatMap((r) => r.written.filter((w) => w.reference.startsWith('Patient/') && w.result.outcome !== 'stale').map((w) => w.reference.slice('Patient/'.length)));
    await indexSources(index, ids);
  };
}

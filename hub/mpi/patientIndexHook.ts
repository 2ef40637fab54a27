import type { InboundEnvelope } from '../core/inboundEnvelope.ts';
import type { NormalizedMessage } from '../pipeline/hl7v2Normalizer.ts';
import { applyDirective } from './patientMerges.ts';
import type { PatientIndex } from './patientIndex.ts';

/**
 * The pipeline's onProcessed hook: each source Patient a message wrote is matched, then the
 * message's A40/A37 directives are applied. Unchanged Patients are looked at too (cheaply:
 * indexSource returns at once when nothing changed), so a replay after a crash between storing
 * and indexing still indexes the record.
 */
export function patientIndexHook(index: PatientIndex): (result: NormalizedMessage, envelope: InboundEnvelope) => Promise<void> {
  return async (result) => {
    for (const w of result.written) {
      if (!w.reference.startsWith('Patient/') || w.result.outcome === 'stale') continue;
      await index.indexSource(w.reference);
    }
    for (const d of result.directives ?? []) await applyDirective(index, d);
  };
}

import type { Hl7Message } from '../../hub/hl7v2/hl7Message.ts';

/**
 * The Kafka key of a message: its patient identifier as `authority|id`, so one patient's
 * messages land on one partition and stay in order, and equal numbers from two hospitals
 * differ. The medical record number (PID-3 with type MR) is preferred over other
 * repetitions, which senders list in no fixed order; without MR the first repetition counts.
 * The authority is CX-4.1 (namespace), else CX-4.2 (universal id).
 */
export function patientKeyOf(message: Hl7Message): string | undefined {
  const pid = message.segment('PID');
  if (!pid) return undefined;
  const reps = pid.field(3);
  let chosen = reps.findIndex((_, i) => pid.value(3, i, 5)?.toUpperCase() === 'MR' && pid.value(3, i, 1));
  if (chosen < 0) chosen = reps.findIndex((_, i) => pid.value(3, i, 1));
  if (chosen < 0) {
    // v2.3 feeds may carry the number only in PID-2 (external id).
    const external = pid.value(2, 0, 1);
    if (!external) return undefined;
    const authority = pid.value(2, 0, 4) ?? pid.value(2, 0, 4, 2);
    return authority ? `${authority}|${external}` : external;
  }
  const id = pid.value(3, chosen, 1)!;
  const authority = pid.value(3, chosen, 4) ?? pid.value(3, chosen, 4, 2);
  return authority ? `${authority}|${id}` : id;
}

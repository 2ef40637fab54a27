import type { HubError } from '../core/hubError.ts';
import { hl7Error, type Hl7Message } from './hl7Message.ts';

export interface Hl7MessageLimits {
  /** segments one message may have (`pipeline.limits.maxSegments`) */
  maxSegments: number;
}

/**
 * Why the hub will not take a parsed message although it is well-formed HL7: more segments
 * than the work one message may cost (one ORU with 10,000 OBX held a partition for minutes),
 * or a NUL character, which no HL7 field may carry and the store refuses. Intake answers AR
 * with it; the pipeline dead-letters with it whatever slipped past intake.
 */
export function hl7MessageBoundsError(message: Hl7Message, limits: Hl7MessageLimits): HubError | undefined {
  const count = message.segments.length;
  if (count > limits.maxSegments) {
    const first = message.segments[limits.maxSegments]!;
    return hl7Error('HL7_TOO_MANY_SEGMENTS',
      `the message has ${count} segments, more than the ${limits.maxSegments} one message may have (pipeline.limits.maxSegments); send it as several messages`,
      first.name, undefined, first.position + 1);
  }
  for (const segment of message.segments) {
    for (let field = 1; field <= segment.fieldCount; field += 1) {
      if (segment.rawField(field)?.includes('\u0000')) {
        return hl7Error('HL7_NUL_CHARACTER', `${segment.name}-${field} contains a NUL character (0x00), which no HL7 field may carry; remove it and resend`,
          segment.name, field, segment.position + 1);
      }
    }
  }
  return undefined;
}

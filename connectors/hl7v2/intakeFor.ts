import type { InvalidUtf8Policy } from '../../hub/hl7v2/hl7Charset.ts';
import type { ConnectorContext } from '../connector.ts';
import { Hl7v2Intake } from './hl7v2Intake.ts';

/** Options every HL7v2 connector kind shares. */
export interface Hl7v2IntakeOptions {
  storeFailureAck: 'AE' | 'AR';
  defaultCharset?: string;
  /** `options.invalidUtf8` of the connector (schema default warn) */
  invalidUtf8?: InvalidUtf8Policy;
}

/** The intake of one HL7v2 connector: its topic (or the hub's inbound topic) and dead-letter topic. */
export function intakeFor(ctx: ConnectorContext, options: Hl7v2IntakeOptions): Hl7v2Intake {
  return new Hl7v2Intake({
    connectorId: ctx.config.id,
    sourceSystem: ctx.config.sourceSystem,
    topic: ctx.config.topic ?? ctx.hub.kafka.topics.hl7v2Inbound,
    deadLetterTopic: ctx.hub.kafka.topics.deadLetter,
    storeFailureAck: options.storeFailureAck,
    limits: { maxSegments: ctx.hub.pipeline.limits.maxSegments },
    ...(options.defaultCharset ? { defaultCharset: options.defaultCharset } : {}),
    ...(options.invalidUtf8 ? { invalidUtf8: options.invalidUtf8 } : {}),
    ...(ctx.isSupported ? { isSupported: ctx.isSupported } : {}),
  }, ctx.producer, ctx.log);
}

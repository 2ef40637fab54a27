import { randomUUID } from 'node:crypto';
import type { Hl7Location } from '../core/hubError.ts';
import { DEFAULT_ENCODING, escapeHl7, type Hl7Encoding } from './hl7Encoding.ts';
import type { Hl7Message } from './hl7Message.ts';
import { hl7Now } from './hl7DateTime.ts';

/** Original mode: AA accept, AE error, AR reject. Enhanced mode commit level: CA, CE, CR. */
export type AckCode = 'AA' | 'AE' | 'AR' | 'CA' | 'CE' | 'CR';

/** HL7 table 0357 (message error condition codes). */
export const HL7_ERROR_CONDITION = {
  accepted: '0',
  segmentSequenceError: '100',
  requiredFieldMissing: '101',
  dataTypeError: '102',
  tableValueNotFound: '103',
  unsupportedMessageType: '200',
  unsupportedEventCode: '201',
  unsupportedProcessingId: '202',
  unsupportedVersionId: '203',
  unknownKeyIdentifier: '204',
  duplicateKeyIdentifier: '205',
  applicationRecordLocked: '206',
  applicationInternalError: '207',
} as const;

export interface AckError {
  /** table 0357 code */
  condition: string;
  message: string;
  location?: Hl7Location;
  severity?: 'E' | 'W' | 'I';
  /** the hub's own error code (ERR-5 application error code) */
  hubCode?: string;
}

/** What we know of the message being acknowledged; enough even when it did not parse. */
export interface AckSubject {
  encoding: Hl7Encoding;
  sendingApplication?: string;
  sendingFacility?: string;
  receivingApplication?: string;
  receivingFacility?: string;
  triggerEvent?: string;
  controlId?: string;
  processingId?: string;
  version?: string;
  /** MSH-15: AL, NE, ER, SU; with MSH-16 it selects enhanced acknowledgement mode */
  acceptAckType?: string;
  /** MSH-16 */
  applicationAckType?: string;
}

/** What became of a message at intake, independent of the acknowledgement mode. */
export type AckOutcome = 'accepted' | 'error' | 'rejected';

export type AckMode = 'original' | 'enhanced';

/** HL7 2.9 (v2.5 ch. 2): enhanced mode when MSH-15 or MSH-16 is valued, else original mode. */
export function ackModeOf(subject: AckSubject): AckMode {
  return subject.acceptAckType || subject.applicationAckType ? 'enhanced' : 'original';
}

/**
 * Original mode answers AA/AE/AR. Enhanced mode answers with a commit acknowledgement
 * (CA/CE/CR): the hub commits the message to Kafka; application acknowledgements would come from
 * whatever consumes it, and the intake does not send them.
 */
export function ackCodeFor(outcome: AckOutcome, mode: AckMode): AckCode {
  const codes = mode === 'enhanced' ? { accepted: 'CA', error: 'CE', rejected: 'CR' } as const : { accepted: 'AA', error: 'AE', rejected: 'AR' } as const;
  return codes[outcome];
}

/** MSH-15 in enhanced mode: AL always, NE never, ER only on error/reject, SU only on success. */
export function acceptAckRequested(subject: AckSubject, code: AckCode): boolean {
  if (ackModeOf(subject) === 'original') return true;
  switch ((subject.acceptAckType ?? 'AL').toUpperCase()) {
    case 'NE': return false;
    case 'ER': return code !== 'CA' && code !== 'AA';
    case 'SU': return code === 'CA' || code === 'AA';
    default: return true;
  }
}

export function ackSubjectOf(message: Hl7Message): AckSubject {
  return {
    encoding: message.encoding,
    sendingApplication: message.sendingApplication,
    sendingFacility: message.sendingFacility,
    receivingApplication: message.receivingApplication,
    receivingFacility: message.receivingFacility,
    triggerEvent: message.triggerEvent,
    controlId: message.controlId,
    processingId: message.processingId,
    version: message.version,
    acceptAckType: message.acceptAckType,
    applicationAckType: message.applicationAckType,
  };
}

/**
 * Best-effort header read of a message that failed to parse, so the NAK still echoes the
 * sender's control id (senders match ACKs by MSA-2).
 */
export function ackSubjectOfRaw(text: string): AckSubject {
  const msh = text.split(/\r\n|\r|\n/).find((l) => l.startsWith('MSH'));
  if (!msh || msh.length < 8) return { encoding: DEFAULT_ENCODING };
  const fs = msh[3]!;
  const fields = [ 'MSH', fs, ...msh.split(fs).slice(1)];
  const cs = fields[2]?.[0] ?? '^';
  // Delimiters that would make our own ACK unreadable are replaced by the standard ones.
  const usable = (c: string) => /^[^A-Za-z0-9\s]$/.test(c);
  if (!usable(fs) || !usable(cs) || fs === cs) return { encoding: DEFAULT_ENCODING };
  const encoding = { ...DEFAULT_ENCODING, field: fs, component: cs };
  if (new Set(Object.values(encoding)).size !== Object.values(encoding).length) return { encoding: DEFAULT_ENCODING };
  const first = (n: number) => fields[n]?.split(cs)[0] || undefined;
  return {
    encoding,
    sendingApplication: first(3),
    sendingFacility: first(4),
    receivingApplication: first(5),
    receivingFacility: first(6),
    triggerEvent: fields[9]?.split(cs)[1] || undefined,
    controlId: first(10),
    processingId: first(11),
    version: first(12),
    acceptAckType: first(15),
    applicationAckType: first(16),
  };
}

export interface AckOptions {
  code: AckCode;
  text?: string;
  errors?: AckError[];
  /** our application/facility names for MSH-3/4 of the ACK */
  application?: string;
  facility?: string;
  now?: Date;
}

/** Builds the ACK message text (segments joined by CR, no MLLP framing). */
export function buildAck(subject: AckSubject, options: AckOptions): string {
  const enc = subject.encoding;
  const f = enc.field;
  const e = (s: string | undefined) => escapeHl7(s ?? '', enc);
  const encodingChars = enc.component + enc.repetition + enc.escape + enc.subcomponent + (enc.truncation ?? '');
  const version = subject.version ?? '2.5';
  const msh = [
    'MSH', encodingChars,
    e(options.application ?? subject.receivingApplication ?? 'HUB'),
    e(options.facility ?? subject.receivingFacility),
    e(subject.sendingApplication),
    e(subject.sendingFacility),
    hl7Now(options.now),
    '',
    ['ACK', subject.triggerEvent ?? '', 'ACK'].join(enc.component),
    randomUUID().replace(/-/g, '').slice(0, 20),
    e(subject.processingId ?? 'P'),
    e(version),
  ].join(f);
  const msa = ['MSA', options.code, e(subject.controlId), e(options.text?.slice(0, 80))].join(f);
  const segments = [msh, msa];
  for (const err of options.errors ?? []) segments.push(errSegment(err, enc));
  return segments.join('\r') + '\r';
}

function errSegment(err: AckError, enc: Hl7Encoding): string {
  const c = enc.component;
  const loc = err.location;
  // ERR-2 (ERL): segment ^ sequence ^ field position; ERR-1 is kept for v2.3/2.4 receivers.
  const erl = loc ? [loc.segment, loc.sequence ?? 1, loc.field ?? '', '', loc.component ?? ''].join(c).replace(new RegExp(`\\${c}+$`), '') : '';
  const legacy = loc ? [loc.segment, loc.sequence ?? 1, loc.field ?? '', ''].join(c) + c + [err.condition, escapeHl7(err.message, enc), 'HL70357'].join(enc.subcomponent) : '';
  return [
    'ERR',
    legacy,
    erl,
    [err.condition, conditionText(err.condition), 'HL70357'].join(c),
    err.severity ?? 'E',
    err.hubCode ? [escapeHl7(err.hubCode, enc), '', 'HUB'].join(c) : '',
    '', '',
    escapeHl7(err.message, enc),
  ].join(enc.field);
}

function conditionText(code: string): string {
  switch (code) {
    case '0': return 'Message accepted';
    case '100': return 'Segment sequence error';
    case '101': return 'Required field missing';
    case '102': return 'Data type error';
    case '103': return 'Table value not found';
    case '200': return 'Unsupported message type';
    case '201': return 'Unsupported event code';
    case '202': return 'Unsupported processing id';
    case '203': return 'Unsupported version id';
    case '204': return 'Unknown key identifier';
    case '205': return 'Duplicate key identifier';
    case '206': return 'Application record locked';
    default: return 'Application internal error';
  }
}

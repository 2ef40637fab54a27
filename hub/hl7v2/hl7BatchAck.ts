import { randomUUID } from 'node:crypto';
import { DEFAULT_ENCODING, escapeHl7 } from './hl7Encoding.ts';
import type { Hl7BatchHeader } from './hl7Batch.ts';
import { hl7Now } from './hl7DateTime.ts';

export interface BatchAckOptions {
  application?: string;
  now?: Date;
}

function envelopeHeader(name: 'FHS' | 'BHS', incoming: Hl7BatchHeader | undefined, options: BatchAckOptions): string {
  const e = (s: string | undefined) => escapeHl7(s ?? '', DEFAULT_ENCODING);
  return [
    name, '^~\\&',
    e(options.application ?? incoming?.receivingApplication ?? 'HUB'),
    e(incoming?.receivingFacility),
    e(incoming?.sendingApplication),
    e(incoming?.sendingFacility),
    hl7Now(options.now),
    '', '', '',
    randomUUID().replace(/-/g, '').slice(0, 20),
    // FHS-12 / BHS-12: the control id of the file or batch being acknowledged
    e(incoming?.controlId),
  ].join('|');
}

/**
 * The acknowledgement of a batch is a batch of ACK messages, in the order of the messages
 * received, wrapped in BHS/BTS (and FHS/FTS when the request was a file batch).
 */
export function buildBatchAck(
  acks: string[],
  received: { fileHeader?: Hl7BatchHeader; batchHeaders: Hl7BatchHeader[] },
  options: BatchAckOptions = {},
): string {
  const lines: string[] = [];
  if (received.fileHeader) lines.push(envelopeHeader('FHS', received.fileHeader, options));
  lines.push(envelopeHeader('BHS', received.batchHeaders[0] ?? received.fileHeader, options));
  const body = acks.map((a) => a.replace(/\r+$/, '')).join('\r');
  if (body) lines.push(body);
  lines.push(`BTS|${acks.length}`);
  if (received.fileHeader) lines.push('FTS|1');
  return `${lines.join('\r')}\r`;
}

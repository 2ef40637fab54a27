import { HubError } from '../core/hubError.ts';
import { readEncoding } from './hl7Parser.ts';

/** Header fields of an FHS or BHS segment that a batch acknowledgement echoes. */
export interface Hl7BatchHeader {
  /** `FHS` or `BHS` */
  segment: string;
  /** the header line as text (ASCII in every charset we accept) */
  line: string;
  sendingApplication?: string;
  sendingFacility?: string;
  receivingApplication?: string;
  receivingFacility?: string;
  /** FHS-11 / BHS-11 control id */
  controlId?: string;
}

export interface Hl7BatchSplit {
  /** the original bytes of each message, in order, segment endings as sent */
  messages: Buffer[];
  fileHeader?: Hl7BatchHeader;
  batchHeaders: Hl7BatchHeader[];
  /** inconsistencies a sender should hear about (e.g. BTS-1 count does not match) */
  warnings: string[];
}

const CR = 0x0d;
const LF = 0x0a;
const ENVELOPE = new Set(['FHS', 'BHS', 'BTS', 'FTS']);

interface Line {
  start: number;
  /** end of the text, before the terminator */
  end: number;
  /** start of the next line */
  next: number;
  name: string;
}

/** Lines of a byte buffer, accepting CR, LF and CRLF. HL7 delimiters are ASCII, so bytes are enough. */
function linesOf(raw: Buffer): Line[] {
  const lines: Line[] = [];
  let start = 0;
  while (start < raw.length) {
    let end = start;
    while (end < raw.length && raw[end] !== CR && raw[end] !== LF) end += 1;
    let next = end;
    if (raw[next] === CR) next += 1;
    if (raw[next] === LF) next += 1;
    else if (next === end && raw[next] === LF) next += 1;
    // Leading blanks, BOM and stray MLLP bytes are not part of a segment name.
    let textStart = start;
    while (textStart < end && (raw[textStart] === 0x20 || raw[textStart] === 0x09 || raw[textStart] === 0x0b || raw[textStart] === 0x1c)) textStart += 1;
    if (raw[textStart] === 0xef && raw[textStart + 1] === 0xbb && raw[textStart + 2] === 0xbf) textStart += 3;
    if (textStart < end) lines.push({ start: textStart, end, next, name: raw.toString('latin1', textStart, Math.min(textStart + 3, end)) });
    start = next > start ? next : start + 1;
  }
  return lines;
}

/** FHS, BHS, BTS or FTS followed by a delimiter (or nothing): not e.g. a Z-segment named BTSX. */
function isEnvelopeLine(raw: Buffer, line: Line): boolean {
  if (!ENVELOPE.has(line.name)) return false;
  const after = raw[line.start + 3];
  return line.end - line.start === 3 || (after !== undefined && !/[A-Za-z0-9]/.test(String.fromCharCode(after)));
}

function batchHeader(line: string): Hl7BatchHeader {
  const name = line.slice(0, 3);
  const enc = readEncoding(line);
  // FHS-1 is the field separator, so field n is at split index n-1.
  const fields = line.split(enc.field);
  const first = (n: number) => fields[n - 1]?.split(enc.component)[0] || undefined;
  const header: Hl7BatchHeader = { segment: name, line };
  const set = (k: keyof Omit<Hl7BatchHeader, 'segment' | 'line'>, n: number) => { const v = first(n); if (v) header[k] = v; };
  set('sendingApplication', 3);
  set('sendingFacility', 4);
  set('receivingApplication', 5);
  set('receivingFacility', 6);
  set('controlId', 11);
  return header;
}

function countOf(line: string): number | undefined {
  const v = line.split(line[3] ?? '|')[1];
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v.split(/[\^~]/)[0]);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/**
 * Splits a file or HTTP body into messages: a single message, several messages back to back,
 * or an HL7 batch (FHS/BHS ... MSH ... BTS/FTS). Works on bytes so each message keeps its
 * original encoding for MSH-18 decoding downstream. Throws HL7_BATCH_INVALID when text outside
 * a message is not a batch envelope segment.
 */
export function splitHl7Batch(raw: Buffer): Hl7BatchSplit {
  const lines = linesOf(raw);
  const result: Hl7BatchSplit = { messages: [], batchHeaders: [], warnings: [] };
  let messageStart: number | undefined;
  let messageEnd = 0;
  let inBatch = 0;
  let batches = 0;
  const close = () => {
    if (messageStart !== undefined) {
      result.messages.push(raw.subarray(messageStart, messageEnd));
      inBatch += 1;
    }
    messageStart = undefined;
  };
  lines.forEach((line, index) => {
    const text = () => raw.toString('latin1', line.start, line.end);
    if (line.name === 'MSH') {
      close();
      messageStart = line.start;
      messageEnd = line.next;
      return;
    }
    if (isEnvelopeLine(raw, line)) {
      close();
      if (line.name === 'FHS') {
        if (result.fileHeader || result.batchHeaders.length) throw batchError(`FHS at line ${index + 1} is not the first segment of the file`, 'FHS', index);
        result.fileHeader = batchHeader(text());
      } else if (line.name === 'BHS') {
        result.batchHeaders.push(batchHeader(text()));
        batches += 1;
        inBatch = 0;
      } else if (line.name === 'BTS') {
        const declared = countOf(text());
        if (declared !== undefined && declared !== inBatch) {
          result.warnings.push(`BTS-1 says ${declared} messages but the batch holds ${inBatch}`);
        }
      } else {
        const declared = countOf(text());
        if (declared !== undefined && declared !== Math.max(batches, 1)) {
          result.warnings.push(`FTS-1 says ${declared} batches but the file holds ${Math.max(batches, 1)}`);
        }
      }
      return;
    }
    if (messageStart === undefined) {
      throw batchError(`line ${index + 1} starts with "${text().slice(0, 8)}", outside any message: expected MSH, FHS or BHS`, line.name, index);
    }
    messageEnd = line.next;
  });
  close();
  if (result.messages.length === 0) throw new HubError('HL7_BATCH_EMPTY', 'no HL7 message (MSH segment) found', { hl7: { segment: 'MSH' } });
  return result;
}

function batchError(message: string, segment: string, index: number): HubError {
  return new HubError('HL7_BATCH_INVALID', message, { hl7: { segment, sequence: index + 1 } });
}

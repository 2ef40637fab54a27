import { isUtf8 } from 'node:buffer';
import iconv from 'iconv-lite';
import { HubError, type Hl7Location } from '../core/hubError.ts';

/**
 * MSH-18 character set names (HL7 table 0211) to decoders. Chinese hospitals send GB18030 or
 * GB2312; European ones 8859/1; most new interfaces UTF-8. Without MSH-18 we assume UTF-8
 * and fall back to GB18030 when the bytes are not valid UTF-8 (the common undeclared case).
 */
const CHARSETS: Record<string, string> = {
  'ASCII': 'ascii',
  'UNICODE UTF-8': 'utf8',
  'UNICODE': 'utf8',
  'UTF-8': 'utf8',
  'UTF8': 'utf8',
  '8859/1': 'latin1',
  '8859/2': 'iso-8859-2',
  '8859/5': 'iso-8859-5',
  '8859/7': 'iso-8859-7',
  '8859/15': 'iso-8859-15',
  'GB 18030-2000': 'gb18030',
  'GB18030': 'gb18030',
  'GB2312': 'gb2312',
  'GBK': 'gbk',
  'BIG-5': 'big5',
  'BIG5': 'big5',
  'ISO IR87': 'euc-jp',
  'KS X 1001': 'euc-kr',
  'UNICODE UTF-16': 'utf16le',
};

/** MSH-18 read from the raw bytes: the header is ASCII in every charset we accept. */
export function declaredCharset(raw: Buffer): string | undefined {
  const end = raw.findIndex((b) => b === 0x0d || b === 0x0a);
  const header = raw.subarray(0, end < 0 ? raw.length : end).toString('latin1');
  const start = header.indexOf('MSH');
  if (start < 0 || header.length < start + 8) return undefined;
  const fs = header[start + 3]!;
  const fields = header.slice(start).split(fs);
  // fields[0] = "MSH", fields[1] = MSH-2, so MSH-18 is fields[17]
  const cs = fields[17]?.split(fields[1]?.[1] ?? '~')[0]?.split(fields[1]?.[0] ?? '^')[0]?.trim();
  return cs || undefined;
}

export function decoderFor(charset: string): string {
  const name = CHARSETS[charset.toUpperCase()] ?? (iconv.encodingExists(charset) ? charset : undefined);
  if (!name) {
    throw new HubError('HL7_CHARSET_UNSUPPORTED', `MSH-18 character set "${charset}" is not supported (known: ${Object.keys(CHARSETS).join(', ')})`,
      { hl7: { segment: 'MSH', field: 18 } });
  }
  return name;
}

/** Byte sequences of a message declared UTF-8 that are not UTF-8 (decoded as U+FFFD). */
export interface InvalidUtf8 {
  count: number;
  /** byte offset of the first one */
  firstOffset: number;
  /** where the first one is: segment, its occurrence, field */
  location: Hl7Location;
}

/** What to do with a message declared UTF-8 whose bytes are not: keep it with a warning, or refuse it. */
export type InvalidUtf8Policy = 'warn' | 'refuse';

/** Length of the valid UTF-8 sequence at `i`, or 0 when the bytes there are not one (RFC 3629). */
function utf8SequenceAt(raw: Buffer, i: number): number {
  const b = raw[i]!;
  if (b < 0x80) return 1;
  let need: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (b >= 0xc2 && b <= 0xdf) need = 1;
  else if (b >= 0xe0 && b <= 0xef) {
    need = 2;
    if (b === 0xe0) lo = 0xa0; // overlong
    if (b === 0xed) hi = 0x9f; // surrogates
  } else if (b >= 0xf0 && b <= 0xf4) {
    need = 3;
    if (b === 0xf0) lo = 0x90; // overlong
    if (b === 0xf4) hi = 0x8f; // beyond U+10FFFF
  } else return 0;
  for (let k = 1; k <= need; k++) {
    const c = raw[i + k];
    if (c === undefined || c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return 0;
  }
  return need + 1;
}

/** Where byte `offset` is: its segment, that segment's occurrence, and the field (MSH-1 is the separator). */
function locationOf(raw: Buffer, offset: number): Hl7Location {
  const msh = raw.indexOf('MSH');
  const fieldSeparator = msh >= 0 ? raw[msh + 3] : 0x7c;
  let start = offset;
  while (start > 0 && raw[start - 1] !== 0x0d && raw[start - 1] !== 0x0a) start -= 1;
  const segment = raw.subarray(start, start + 3).toString('latin1');
  let sequence = 0;
  for (let at = 0; at <= start;) {
    if (raw.subarray(at, at + 3).toString('latin1') === segment) sequence += 1;
    const cr = raw.indexOf(0x0d, at);
    const lf = raw.indexOf(0x0a, at);
    const next = Math.min(cr < 0 ? Infinity : cr, lf < 0 ? Infinity : lf);
    if (!Number.isFinite(next)) break;
    at = next + 1;
  }
  let separators = 0;
  for (let k = start; k < offset; k++) if (raw[k] === fieldSeparator) separators += 1;
  return { segment, sequence: Math.max(sequence, 1), field: segment === 'MSH' ? separators + 1 : separators };
}

/** The byte sequences that are not UTF-8, or undefined when all are. */
export function invalidUtf8In(raw: Buffer): InvalidUtf8 | undefined {
  let count = 0;
  let firstOffset = -1;
  for (let i = 0; i < raw.length;) {
    const n = utf8SequenceAt(raw, i);
    if (n > 0) {
      i += n;
      continue;
    }
    if (firstOffset < 0) firstOffset = i;
    count += 1;
    // skip the rest of a broken sequence: its continuation bytes are part of the same error
    i += 1;
    while (i < raw.length && raw[i]! >= 0x80 && raw[i]! <= 0xbf) i += 1;
  }
  return count === 0 ? undefined : { count, firstOffset, location: locationOf(raw, firstOffset) };
}

function where(l: Hl7Location): string {
  return `${l.segment}${l.sequence && l.sequence > 1 ? `[${l.sequence}]` : ''}-${l.field}`;
}

/** The lineage warning for a message kept despite invalid UTF-8. */
export function invalidUtf8Warning(charset: string, invalid: InvalidUtf8): string {
  return `HL7_INVALID_UTF8: ${invalid.count} byte sequence(s) are not valid ${charset}, the first at byte ${invalid.firstOffset} (${where(invalid.location)}); they were stored as U+FFFD`;
}

export interface DecodedHl7 {
  text: string;
  charset: string;
  /** set when the message is declared UTF-8 (MSH-18 or the connector's default) and is not */
  invalidUtf8?: InvalidUtf8;
}

/**
 * Decodes an HL7 message's bytes to text using MSH-18 (or a connector's default). Bytes that are
 * not UTF-8 under a UTF-8 declaration become U+FFFD; the result says so (invalidUtf8), and with
 * `invalidUtf8: 'refuse'` the message is refused instead (HL7_INVALID_UTF8, naming where).
 */
export function decodeHl7(raw: Buffer, fallbackCharset?: string, options: { invalidUtf8?: InvalidUtf8Policy } = {}): DecodedHl7 {
  const declared = declaredCharset(raw) ?? fallbackCharset;
  if (declared) {
    const decoder = decoderFor(declared);
    // the native check first: the byte walk runs only for a message that has something to report
    const invalid = decoder === 'utf8' && !isUtf8(raw) ? invalidUtf8In(raw) : undefined;
    if (invalid && options.invalidUtf8 === 'refuse') {
      throw new HubError('HL7_INVALID_UTF8', `the message is declared ${declared} but ${invalid.count} byte sequence(s) are not, the first at byte ${invalid.firstOffset} (${where(invalid.location)}); send it in the declared character set or correct MSH-18`,
        { hl7: invalid.location });
    }
    return { text: iconv.decode(raw, decoder), charset: declared, ...(invalid ? { invalidUtf8: invalid } : {}) };
  }
  if (isUtf8(raw)) return { text: raw.toString('utf8'), charset: 'UNICODE UTF-8' };
  return { text: iconv.decode(raw, 'gb18030'), charset: 'GB 18030-2000' };
}

export function encodeHl7(text: string, charset: string | undefined): Buffer {
  return charset ? iconv.encode(text, decoderFor(charset)) : Buffer.from(text, 'utf8');
}

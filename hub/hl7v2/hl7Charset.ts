import iconv from 'iconv-lite';
import { HubError } from '../core/hubError.ts';

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

function isValidUtf8(raw: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(raw);
    return true;
  } catch {
    return false;
  }
}

/** Decodes an HL7 message's bytes to text using MSH-18 (or a connector's default). */
export function decodeHl7(raw: Buffer, fallbackCharset?: string): { text: string; charset: string } {
  const declared = declaredCharset(raw) ?? fallbackCharset;
  if (declared) return { text: iconv.decode(raw, decoderFor(declared)), charset: declared };
  if (isValidUtf8(raw)) return { text: raw.toString('utf8'), charset: 'UNICODE UTF-8' };
  return { text: iconv.decode(raw, 'gb18030'), charset: 'GB 18030-2000' };
}

export function encodeHl7(text: string, charset: string | undefined): Buffer {
  return charset ? iconv.encode(text, decoderFor(charset)) : Buffer.from(text, 'utf8');
}

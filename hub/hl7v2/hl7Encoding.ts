/** The five HL7v2 delimiters, read from MSH-1 and MSH-2 of each message. */
export interface Hl7Encoding {
  field: string;
  component: string;
  repetition: string;
  escape: string;
  subcomponent: string;
  /** v2.7+ truncation character (MSH-2 position 5), if present */
  truncation?: string;
}

export const DEFAULT_ENCODING: Hl7Encoding = {
  field: '|',
  component: '^',
  repetition: '~',
  escape: '\\',
  subcomponent: '&',
};

/** Decodes HL7 escape sequences in one leaf value (sub-component text). */
export function unescapeHl7(text: string, enc: Hl7Encoding): string {
  const esc = enc.escape;
  if (!esc || text.indexOf(esc) < 0) return text;
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch !== esc) {
      out += ch;
      i += 1;
      continue;
    }
    const end = text.indexOf(esc, i + 1);
    if (end < 0) {
      // An unterminated escape is data, not a sequence: keep it rather than lose text.
      out += text.slice(i);
      break;
    }
    out += decodeSequence(text.slice(i + 1, end), enc) ?? text.slice(i, end + 1);
    i = end + 1;
  }
  return out;
}

function decodeSequence(seq: string, enc: Hl7Encoding): string | undefined {
  switch (seq) {
    case 'F': return enc.field;
    case 'S': return enc.component;
    case 'T': return enc.subcomponent;
    case 'R': return enc.repetition;
    case 'E': return enc.escape;
    case 'P': return enc.truncation ?? '#';
    case 'H': case 'N': return ''; // highlighting on/off carries no text
    case '.br': return '\n';
    case '': return undefined;
  }
  if (seq.startsWith('.sp')) {
    const n = Number.parseInt(seq.slice(3).trim() || '1', 10);
    return '\n'.repeat(Number.isFinite(n) && n > 0 ? n : 1);
  }
  if (seq.startsWith('.')) return ''; // other formatting commands (.in, .ti, .ce, .fi, .nf, .sk)
  if (seq[0] === 'X' && /^X([0-9A-Fa-f]{2})+$/.test(seq)) {
    // \Xhh..\ carries raw bytes; UTF-8 when they form it, else single-byte (8859/1) text.
    const bytes = Buffer.from(seq.slice(1), 'hex');
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return bytes.toString('latin1');
    }
  }
  if (seq[0] === 'C' || seq[0] === 'M' || seq[0] === 'Z') return ''; // charset switches / local escapes
  return undefined;
}

/** Encodes text so it can be placed in a field without breaking the structure. */
export function escapeHl7(text: string, enc: Hl7Encoding = DEFAULT_ENCODING): string {
  let out = '';
  for (const ch of text) {
    if (ch === enc.escape) out += `${enc.escape}E${enc.escape}`;
    else if (ch === enc.field) out += `${enc.escape}F${enc.escape}`;
    else if (ch === enc.component) out += `${enc.escape}S${enc.escape}`;
    else if (ch === enc.subcomponent) out += `${enc.escape}T${enc.escape}`;
    else if (ch === enc.repetition) out += `${enc.escape}R${enc.escape}`;
    else if (ch === '\r' || ch === '\n') out += `${enc.escape}.br${enc.escape}`;
    else out += ch;
  }
  return out;
}

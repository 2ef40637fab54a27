import { type Hl7Encoding } from './hl7Encoding.ts';
import { Hl7Message, Hl7Segment, hl7Error } from './hl7Message.ts';

const SEGMENT_NAME = /^[A-Z][A-Z0-9]{2}$/;
const SEGMENT_TERMINATOR = /\r\n|\r|\n/;

/**
 * Reads the delimiters from a header segment (MSH, BHS or FHS): the character after the name is
 * the field separator, the next four or five are component, repetition, escape, sub-component
 * and (v2.7+) truncation. Sites do change them, so nothing below assumes `|^~\&`.
 */
export function readEncoding(headerLine: string): Hl7Encoding {
  const name = headerLine.slice(0, 3);
  if (headerLine.length < 8) {
    throw hl7Error('HL7_HEADER_TOO_SHORT', `${name} is too short to carry its delimiters (need ${name}|^~\\&)`, name, 2);
  }
  const field = headerLine[3]!;
  const end = headerLine.indexOf(field, 4);
  const chars = end < 0 ? headerLine.slice(4) : headerLine.slice(4, end);
  if (chars.length < 4 || chars.length > 5) {
    throw hl7Error('HL7_ENCODING_CHARACTERS_INVALID',
      `${name}-2 must hold 4 or 5 encoding characters, found "${chars}"`, name, 2);
  }
  const all = field + chars;
  if (new Set(all).size !== all.length || /[A-Za-z0-9\r\n]/.test(all)) {
    throw hl7Error('HL7_ENCODING_CHARACTERS_INVALID',
      `${name}-1/${name}-2 delimiters must be distinct punctuation, found "${all}"`, name, 2);
  }
  return {
    field,
    component: chars[0]!,
    repetition: chars[1]!,
    escape: chars[2]!,
    subcomponent: chars[3]!,
    ...(chars[4] ? { truncation: chars[4] } : {}),
  };
}

/** Splits text into segment lines, accepting CR, LF or CRLF endings and blank lines between. */
export function splitSegments(text: string): string[] {
  return text.split(SEGMENT_TERMINATOR).map((l) => l.replace(/^[\s\u000b\u001c]+/, '')).filter((l) => l.length > 0);
}

/** Parses one HL7v2 message. Throws HubError (HL7_*) naming the segment and field at fault. */
export function parseHl7(text: string): Hl7Message {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = splitSegments(body);
  const first = lines[0];
  if (!first) throw hl7Error('HL7_EMPTY_MESSAGE', 'message is empty', 'MSH');
  if (!first.startsWith('MSH')) {
    throw hl7Error('HL7_MSH_MISSING', `message must start with an MSH segment, found "${first.slice(0, 3)}"`, 'MSH');
  }
  const encoding = readEncoding(first);
  const segments: Hl7Segment[] = [];
  lines.forEach((line, position) => {
    const name = line.slice(0, 3);
    if (!SEGMENT_NAME.test(name) || (line.length > 3 && line[3] !== encoding.field)) {
      throw hl7Error('HL7_SEGMENT_INVALID',
        `segment ${position + 1} has no valid 3-character name followed by "${encoding.field}" (starts "${line.slice(0, 8)}")`,
        name, undefined, position + 1);
    }
    if (name === 'MSH' && position > 0) {
      throw hl7Error('HL7_SEGMENT_INVALID', `a second MSH at segment ${position + 1}: send batches as FHS/BHS or one message per frame`, name, undefined, position + 1);
    }
    const raw = line.split(encoding.field);
    // In MSH the field separator itself is MSH-1, so every later field shifts by one.
    const fields = name === 'MSH' || name === 'BHS' || name === 'FHS' ? [name, encoding.field, ...raw.slice(1)] : raw;
    segments.push(new Hl7Segment(name, fields, encoding, position));
  });
  const message = new Hl7Message(encoding, segments);
  if (!message.messageType) throw hl7Error('HL7_MESSAGE_TYPE_MISSING', 'MSH-9 (message type) is empty', 'MSH', 9);
  if (!message.controlId) throw hl7Error('HL7_CONTROL_ID_MISSING', 'MSH-10 (message control id) is empty', 'MSH', 10);
  return message;
}

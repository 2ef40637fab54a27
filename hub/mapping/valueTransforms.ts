import type { Transform } from './transforms.ts';

/**
 * Transforms for result and document values (OBX, TXA): joining repeated text, picking one
 * item of a repeat, reference ranges written as free text, and base64 for attachments.
 */

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);

const NUMBER = String.raw`[+-]?(?:\d+\.?\d*|\.\d+)`;
const BETWEEN = new RegExp(String.raw`^(${NUMBER})\s*(?:-|–|_|~|to|\.\.)\s*(${NUMBER})$`, 'i');
const BOUND = new RegExp(String.raw`^(<=|>=|<|>|≤|≥)\s*(${NUMBER})$`);
const WHOLE_NUMBER = new RegExp(`^${NUMBER}$`);

export interface RangeQuantity {
  value: number;
  unit?: string;
  system?: string;
  code?: string;
}

export interface ReferenceRange {
  low?: RangeQuantity;
  high?: RangeQuantity;
  text: string;
}

/**
 * OBX-7 as labs write it ("3.5-5.1", "70_105", "4.3 to 6.2", "<5", ">=10") to an
 * Observation.referenceRange; what does not parse is kept as text only, which FHIR allows.
 */
export function parseReferenceRange(raw: string, unit?: string, ucumCode?: string): ReferenceRange | undefined {
  const range = raw.trim();
  if (!range) return undefined;
  const quantity = (n: string): RangeQuantity => ({
    value: Number(n),
    ...(unit ? { unit } : {}),
    ...(ucumCode ? { system: 'http://unitsofmeasure.org', code: ucumCode } : {}),
  });
  const between = BETWEEN.exec(range);
  if (between) return { low: quantity(between[1]!), high: quantity(between[2]!), text: range };
  const bound = BOUND.exec(range);
  if (bound) {
    // FHIR ranges are inclusive; "<5" keeps its strictness in the text.
    return bound[1]!.startsWith('<') || bound[1] === '≤' ? { high: quantity(bound[2]!), text: range } : { low: quantity(bound[2]!), text: range };
  }
  return { text: range };
}

export const valueTransforms: Record<string, Transform> = {
  /** repeated values (an `each`) joined into one string: `fn: join, args: ["\n"]` */
  join: (v, args) => {
    const items = (Array.isArray(v) ? v : [v]).map(text).filter((s): s is string => s !== undefined);
    return items.length ? items.join(text(args[0]) ?? '\n') : undefined;
  },
  /** one item of a repeat (0-based, default the first): `fn: item, args: [0]` */
  item: (v, args) => (Array.isArray(v) ? v[Number(args[0] ?? 0)] : v),
  /** `fn: referenceRange, args: [unit text, UCUM code]` on OBX-7 */
  referenceRange: (v, args) => {
    const raw = text(v);
    return raw === undefined ? undefined : parseReferenceRange(raw, text(args[0]), text(args[1]));
  },
  /** UTF-8 text to base64, for Attachment.data */
  base64: (v) => {
    const s = text(v);
    return s === undefined ? undefined : Buffer.from(s, 'utf8').toString('base64');
  },
  /** a number when the text is one, else nothing (NM fields that carry "<0.5" or "see note") */
  numberOrNothing: (v) => {
    const s = text(v)?.trim();
    return s !== undefined && WHOLE_NUMBER.test(s) ? Number(s) : undefined;
  },
};

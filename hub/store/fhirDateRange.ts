/**
 * FHIR date, dateTime and instant values as the instant range they cover, because a date
 * search compares ranges ("2026-11" covers the whole month) and values arrive with different
 * precisions and UTC offsets. Bounds are UTC ISO strings of one fixed width, so that string
 * order is time order in the database.
 */
export interface DateRange {
  lo: string;
  hi: string;
}

export const EARLIEST = '0001-01-01T00:00:00.000Z';
export const LATEST = '9999-12-31T23:59:59.999Z';

const FHIR_DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

function offsetMinutes(zone: string | undefined): number {
  if (!zone || zone === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  return sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
}

/** The range a FHIR date/dateTime/instant covers, or undefined when the text is not one. */
export function fhirDateRange(text: string): DateRange | undefined {
  const m = FHIR_DATE.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  const month = mo ? Number(mo) - 1 : 0;
  const day = d ? Number(d) : 1;
  if (month > 11 || day < 1 || day > 31) return undefined;
  const shift = offsetMinutes(zone) * 60_000;
  const ms = frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0;
  const start = Date.UTC(year, month, day, h ? Number(h) : 0, mi ? Number(mi) : 0, s ? Number(s) : 0, ms);
  let end: number;
  if (!mo) end = Date.UTC(year + 1, 0, 1);
  else if (!d) end = Date.UTC(year, month + 1, 1);
  else if (!h) end = Date.UTC(year, month, day + 1);
  else if (!s) end = start + 60_000;
  else if (!frac) end = start + 1000;
  else end = start + 1;
  const lo = start - shift;
  const hi = end - 1 - shift;
  if (!Number.isFinite(lo) || lo < Date.UTC(1, 0, 1) || hi > Date.UTC(9999, 11, 31, 23, 59, 59, 999)) return undefined;
  return { lo: new Date(lo).toISOString(), hi: new Date(hi).toISOString() };
}

/** A Period's range; an open end reaches the earliest/latest instant. */
export function periodRange(start: string | undefined, end: string | undefined): DateRange | undefined {
  const s = start ? fhirDateRange(start) : undefined;
  const e = end ? fhirDateRange(end) : undefined;
  if (!s && !e) return undefined;
  return { lo: s?.lo ?? EARLIEST, hi: e?.hi ?? LATEST };
}

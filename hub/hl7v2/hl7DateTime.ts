import { HubError } from '../core/hubError.ts';

const TS = /^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,4}))?([+-]\d{4})?$/;

export interface Hl7TimestampParts {
  year: string;
  month?: string;
  day?: string;
  hour?: string;
  minute?: string;
  second?: string;
  fraction?: string;
  /** `+hhmm` / `-hhmm` as sent */
  offset?: string;
}

/** Splits an HL7 DTM/TS value (YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]). */
export function parseHl7Timestamp(value: string): Hl7TimestampParts {
  const m = TS.exec(value.trim());
  if (!m) throw new HubError('HL7_DATETIME_INVALID', `"${value}" is not an HL7 date/time (YYYY[MM[DD[HHMM[SS[.S]]]]][+/-ZZZZ])`);
  const [, year, month, day, hour, minute, second, fraction, offset] = m;
  const parts: Hl7TimestampParts = { year: year! };
  if (month) parts.month = month;
  if (day) parts.day = day;
  if (hour) parts.hour = hour;
  if (minute) parts.minute = minute;
  if (second) parts.second = second;
  if (fraction) parts.fraction = fraction;
  if (offset) parts.offset = offset;
  validateRanges(value, parts);
  return parts;
}

function validateRanges(value: string, p: Hl7TimestampParts): void {
  const checks: Array<[string | undefined, number, number, string]> = [
    [p.month, 1, 12, 'month'], [p.day, 1, 31, 'day'], [p.hour, 0, 23, 'hour'],
    [p.minute, 0, 59, 'minute'], [p.second, 0, 60, 'second'],
  ];
  for (const [text, min, max, what] of checks) {
    if (text === undefined) continue;
    const n = Number(text);
    if (n < min || n > max) throw new HubError('HL7_DATETIME_INVALID', `"${value}" has an invalid ${what} (${text})`);
  }
  if (p.day && p.month) {
    const last = new Date(Date.UTC(Number(p.year), Number(p.month), 0)).getUTCDate();
    if (Number(p.day) > last) throw new HubError('HL7_DATETIME_INVALID', `"${value}" has day ${p.day} but month ${p.month} has ${last} days`);
  }
}

/** FHIR `date` (YYYY, YYYY-MM or YYYY-MM-DD), keeping the precision that was sent. */
export function hl7ToFhirDate(value: string): string {
  const p = parseHl7Timestamp(value);
  return [p.year, p.month, p.day].filter(Boolean).join('-');
}

/**
 * FHIR `dateTime`. A value with a time but no offset is local time at the sending site;
 * FHIR requires an offset once a time is given, so the site's IANA time zone supplies it.
 */
export function hl7ToFhirDateTime(value: string, defaultTimeZone: string): string {
  const p = parseHl7Timestamp(value);
  const date = [p.year, p.month, p.day].filter(Boolean).join('-');
  if (!p.hour) return date;
  if (!p.day) throw new HubError('HL7_DATETIME_INVALID', `"${value}" has a time but no day`);
  const time = `${p.hour}:${p.minute ?? '00'}:${p.second ?? '00'}${p.fraction ? `.${p.fraction}` : ''}`;
  const offset = p.offset ? `${p.offset.slice(0, 3)}:${p.offset.slice(3)}` : zoneOffset(p, defaultTimeZone);
  return `${date}T${time}${offset}`;
}

/** FHIR `instant`: needs at least seconds and an offset. */
export function hl7ToFhirInstant(value: string, defaultTimeZone: string): string {
  const p = parseHl7Timestamp(value);
  if (!p.day || !p.hour) throw new HubError('HL7_DATETIME_INVALID', `"${value}" is not precise enough for an instant (needs day and time)`);
  return hl7ToFhirDateTime(value, defaultTimeZone);
}

function zoneOffset(p: Hl7TimestampParts, timeZone: string): string {
  const localAsUtc = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute ?? 0), Number(p.second ?? 0));
  // Two passes settle the offset near DST changes: guess the instant, read the zone's offset there.
  let offsetMinutes = offsetAt(localAsUtc, timeZone);
  offsetMinutes = offsetAt(localAsUtc - offsetMinutes * 60_000, timeZone);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function offsetAt(utcMillis: number, timeZone: string): number {
  let fmt = formatters.get(timeZone);
  if (!fmt) {
    try {
      fmt = new Intl.DateTimeFormat('en-US', {
        timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
        hour: '2-digit', minute: '2-digit', second: '2-digit',
      });
    } catch {
      throw new HubError('CONFIG_TIMEZONE_INVALID', `unknown time zone "${timeZone}" (use an IANA name such as Asia/Shanghai)`);
    }
    formatters.set(timeZone, fmt);
  }
  const parts: Record<string, number> = {};
  for (const part of fmt.formatToParts(new Date(utcMillis))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const asUtc = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return Math.round((asUtc - utcMillis) / 60_000);
}

/** Current time as an HL7 DTM with offset, for ACKs. */
export function hl7Now(date = new Date()): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const off = -date.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  return `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}${sign}${pad(Math.floor(Math.abs(off) / 60))}${pad(Math.abs(off) % 60)}`;
}

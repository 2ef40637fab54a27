/**
 * The 18-character Chinese resident identity card number (GB 11643-1999): 6-digit region, 8-digit
 * birth date, 3-digit sequence (odd = male), and an ISO 7064 MOD 11-2 check character. A typo in
 * any one digit breaks the check, which is why a mistyped card number must not count as a
 * different person: it is treated as "no reliable value" instead.
 */
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS = '10X98765432';

export function residentIdCheckChar(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i += 1) sum += (first17.charCodeAt(i) - 48) * WEIGHTS[i]!;
  return CHECK_CHARS[sum % 11]!;
}

export function normalizeResidentId(value: string): string {
  return value.replace(/[\s-]/g, '').toUpperCase();
}

/** Valid when 17 digits + the right check character and the embedded birth date exists. */
export function isValidResidentId(value: string): boolean {
  const id = normalizeResidentId(value);
  if (!/^\d{17}[\dX]$/.test(id)) return false;
  if (residentIdCheckChar(id.slice(0, 17)) !== id[17]) return false;
  return birthDateOfResidentId(id) !== undefined;
}

/** YYYY-MM-DD embedded in the number, when it is a real calendar date. */
export function birthDateOfResidentId(value: string): string | undefined {
  const id = normalizeResidentId(value);
  const y = Number(id.slice(6, 10)), m = Number(id.slice(10, 12)), d = Number(id.slice(12, 14));
  if (y < 1880 || m < 1 || m > 12 || d < 1) return undefined;
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCMonth() !== m - 1) return undefined;
  return `${id.slice(6, 10)}-${id.slice(10, 12)}-${id.slice(12, 14)}`;
}

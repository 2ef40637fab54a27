/**
 * American Soundex: a 4-character phonetic key for Latin-script names, so "Smith"/"Smyth" and
 * "Robert"/"Rupert" compare equal. Pinyin spellings go through the same key, which folds common
 * romanisation slips (zh/z, ng/n at the end) together.
 */
const CODES: Record<string, string> = {
  b: '1', f: '1', p: '1', v: '1',
  c: '2', g: '2', j: '2', k: '2', q: '2', s: '2', x: '2', z: '2',
  d: '3', t: '3', l: '4', m: '5', n: '5', r: '6',
};

export function soundex(name: string): string {
  const letters = name.toLowerCase().replace(/[^a-z]/g, '');
  if (!letters) return '';
  let out = letters[0]!.toUpperCase();
  let last = CODES[letters[0]!] ?? '';
  for (let i = 1; i < letters.length && out.length < 4; i += 1) {
    const ch = letters[i]!;
    const code = CODES[ch] ?? '';
    if (code && code !== last) out += code;
    // h and w do not separate letters with the same code; vowels do
    if (ch !== 'h' && ch !== 'w') last = code;
  }
  return out.padEnd(4, '0');
}

/**
 * Jaro-Winkler similarity in [0, 1]: tolerant of typos and transpositions in short strings such
 * as names, with a bonus for a shared prefix (people rarely mistype the start of a name).
 */
export function jaroSimilarity(a: string, b: string): number {
  if (a === b) return a.length === 0 ? 1 : 1;
  const la = a.length, lb = b.length;
  if (la === 0 || lb === 0) return 0;
  const window = Math.max(0, Math.floor(Math.max(la, lb) / 2) - 1);
  const matchedA = new Uint8Array(la);
  const matchedB = new Uint8Array(lb);
  let matches = 0;
  for (let i = 0; i < la; i += 1) {
    const from = Math.max(0, i - window), to = Math.min(lb - 1, i + window);
    for (let j = from; j <= to; j += 1) {
      if (!matchedB[j] && a.charCodeAt(i) === b.charCodeAt(j)) {
        matchedA[i] = 1; matchedB[j] = 1; matches += 1;
        break;
      }
    }
  }
  if (matches === 0) return 0;
  let transpositions = 0;
  for (let i = 0, j = 0; i < la; i += 1) {
    if (!matchedA[i]) continue;
    while (!matchedB[j]) j += 1;
    if (a.charCodeAt(i) !== b.charCodeAt(j)) transpositions += 1;
    j += 1;
  }
  const t = transpositions / 2;
  return (matches / la + matches / lb + (matches - t) / matches) / 3;
}

export function jaroWinkler(a: string, b: string, prefixScale = 0.1): number {
  const jaro = jaroSimilarity(a, b);
  let prefix = 0;
  const limit = Math.min(4, a.length, b.length);
  while (prefix < limit && a.charCodeAt(prefix) === b.charCodeAt(prefix)) prefix += 1;
  return jaro + prefix * prefixScale * (1 - jaro);
}

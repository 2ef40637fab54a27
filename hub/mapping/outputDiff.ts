/**
 * A readable structural diff of two JSON values, for golden files and store comparisons:
 * one line per differing path (`Encounter/1.period.end`), with the expected and actual value.
 * Arrays compare by position, which is what mapping output order means.
 */
export interface Difference {
  path: string;
  expected?: unknown;
  actual?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function diffJson(expected: unknown, actual: unknown, at = ''): Difference[] {
  if (Array.isArray(expected) && Array.isArray(actual)) {
    const out: Difference[] = [];
    for (let i = 0; i < Math.max(expected.length, actual.length); i += 1) {
      const p = `${at}[${i}]`;
      if (i >= actual.length) out.push({ path: p, expected: expected[i] });
      else if (i >= expected.length) out.push({ path: p, actual: actual[i] });
      else out.push(...diffJson(expected[i], actual[i], p));
    }
    return out;
  }
  if (isObject(expected) && isObject(actual)) {
    const out: Difference[] = [];
    const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])];
    for (const k of keys) {
      const p = at ? `${at}.${k}` : k;
      if (!(k in actual)) out.push({ path: p, expected: expected[k] });
      else if (!(k in expected)) out.push({ path: p, actual: actual[k] });
      else out.push(...diffJson(expected[k], actual[k], p));
    }
    return out;
  }
  return JSON.stringify(expected) === JSON.stringify(actual) ? [] : [{ path: at || '(root)', expected, actual }];
}

const show = (v: unknown) => {
  const text = JSON.stringify(v);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
};

export function formatDifferences(diffs: readonly Difference[]): string {
  return diffs.map((d) => {
    if (!('actual' in d)) return `  - ${d.path}: ${show(d.expected)} (missing)`;
    if (!('expected' in d)) return `  + ${d.path}: ${show(d.actual)} (unexpected)`;
    return `  ~ ${d.path}: expected ${show(d.expected)}, got ${show(d.actual)}`;
  }).join('\n');
}

/** Resources keyed by `Type/id`, so outputs compare by identity rather than by position. */
export function byReference<T extends { resourceType: string; id?: string }>(resources: readonly T[]): Record<string, T> {
  return Object.fromEntries(resources.map((r) => [`${r.resourceType}/${r.id}`, r]));
}

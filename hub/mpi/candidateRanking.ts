/**
 * Which sources a record is scored against: those sharing any of its blocking keys, most shared
 * keys first (ties by id), at most `limit`; a block past maxBlockSize is not selective and is
 * left out.
 */
export function rankCandidates(keys: string[], blocks: Map<string, string[] | 'oversize'>, exclude: string, limit: number): string[] {
  const shared = new Map<string, number>();
  for (const k of new Set(keys)) {
    const members = blocks.get(k);
    if (!members || members === 'oversize') continue;
    for (const source of members) if (source !== exclude) shared.set(source, (shared.get(source) ?? 0) + 1);
  }
  return [...shared.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, limit).map(([id]) => id);
}

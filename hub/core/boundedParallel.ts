/**
 * `fn` over every item with at most `limit` running at once, results in item order. Wide
 * fan-outs of database reads stay within the connections the store has (FerretDB: 100 per
 * database) instead of queueing hundreds of requests at once.
 */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  }));
  return out;
}

import { MongoClient } from 'mongodb';

export async function waitForMongo(url: string, deadline: number): Promise<void> {
  let last: unknown;
  while (Date.now() < deadline) {
    const client = new MongoClient(url, { serverSelectionTimeoutMS: 2000, connectTimeoutMS: 2000 });
    try {
      await client.connect();
      await client.db('admin').command({ ping: 1 });
      return;
    } catch (err) {
      last = err;
    } finally {
      await client.close().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw last instanceof Error ? last : new Error(`MongoDB at ${url} did not answer ping`);
}

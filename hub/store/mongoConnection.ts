import { MongoClient, type Db } from 'mongodb';
import { HubError } from '../core/hubError.ts';

export interface MongoConnection {
  client: MongoClient;
  db: Db;
  close(): Promise<void>;
}

/**
 * Connects with settings that hold on both MongoDB 7 and FerretDB: no retryable writes (FerretDB
 * runs standalone) and nothing that needs sessions or transactions.
 */
export async function connectMongo(url: string, database: string): Promise<MongoConnection> {
  const client = new MongoClient(url, { retryWrites: false, serverSelectionTimeoutMS: 10_000, maxPoolSize: 20 });
  try {
    await client.connect();
  } catch (err) {
    throw new HubError('STORE_UNAVAILABLE', `cannot reach MongoDB at ${redactUrl(url)}: ${(err as Error).message}`);
  }
  return { client, db: client.db(database), close: () => client.close() };
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]+)@/, '//***@');
}

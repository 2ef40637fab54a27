import { randomBytes } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import { HubError } from '../core/hubError.ts';

interface LeaseDoc { _id: string; token: string; owner: string; expiresAt: Date }

/**
 * Short leases that serialise patient-index operations touching the same blocking keys or golden
 * Patients across hub workers, without transactions: a lease is a document with a unique _id,
 * taken by insert (or by taking over an expired one with findOneAndUpdate) and released by
 * deleting it. Names are taken in sorted order, so two operations never wait on each other in a
 * cycle; an expired lease (a crashed worker) is taken over after `ttlMs`.
 */
export class LeaseManager {
  private readonly leases: Collection<LeaseDoc>;

  constructor(db: Db, readonly owner: string, private readonly ttlMs = 30_000, private readonly waitMs = 60_000) {
    this.leases = db.collection<LeaseDoc>('mpi_leases');
  }

  /** Holds every named lease while `fn` runs; names already held by `outer` are not taken again. */
  async withLeases<T>(names: string[], fn: (held: Set<string>) => Promise<T>, outer?: Set<string>): Promise<T> {
    const wanted = [...new Set(names)].filter((n) => !outer?.has(n)).sort();
    const token = randomBytes(8).toString('hex');
    const taken: string[] = [];
    try {
      for (const name of wanted) {
        await this.take(name, token);
        taken.push(name);
      }
      return await fn(new Set([...(outer ?? []), ...wanted]));
    } finally {
      if (taken.length) await this.leases.deleteMany({ _id: { $in: taken }, token });
    }
  }

  private async take(name: string, token: string): Promise<void> {
    const deadline = Date.now() + this.waitMs;
    let pause = 2;
    for (;;) {
      const now = new Date();
      const expiresAt = new Date(now.getTime() + this.ttlMs);
      try {
        await this.leases.insertOne({ _id: name, token, owner: this.owner, expiresAt });
        return;
      } catch (err) {
        if ((err as { code?: number }).code !== 11000) throw err;
      }
      const stolen = await this.leases.findOneAndUpdate({ _id: name, expiresAt: { $lt: now } }, { $set: { token, owner: this.owner, expiresAt } });
      if (stolen) return;
      if (Date.now() > deadline) throw new HubError('MPI_LEASE_TIMEOUT', `patient index lease ${name} stayed busy for ${this.waitMs} ms`);
      await new Promise((r) => setTimeout(r, pause + Math.random() * pause));
      pause = Math.min(pause * 2, 50);
    }
  }
}

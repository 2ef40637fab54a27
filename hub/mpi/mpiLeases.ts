import { randomBytes } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import { HubError } from '../core/hubError.ts';

interface LeaseDoc { _id: string; token: string; owner: string; expiresAt: Date }

/**
 * Short leases that serialise patient-index operations touching the same blocking keys or golden
 * Patients across hub workers, without transactions: a lease is a document with a unique _id,
 * taken by insert (or by taking over an expired one with findOneAndUpdate) and released by
 * deleting it. All the names an operation needs are taken together in one insertMany: if any
 * is busy, the ones just taken are released and the operation waits and tries again, so two
 * operations never hold part of what the other needs while waiting (no deadlock), and a match
 * costs two round trips for its leases however many blocking keys it has. An expired lease (a
 * crashed worker) is taken over after `ttlMs`.
 */
export class LeaseManager {
  private readonly leases: Collection<LeaseDoc>;

  /**
   * `leaseId`: the document id a name is held under. Names hold blocking keys (names, numbers,
   * birth dates), so with encryption at rest they are keyed hashes: a deleted lease stays
   * readable in the database's free pages until they are reused.
   */
  constructor(db: Db, readonly owner: string, private readonly ttlMs = 30_000, private readonly waitMs = 60_000, private readonly leaseId?: (name: string) => string) {
    this.leases = db.collection<LeaseDoc>('mpi_leases');
  }

  /** Holds every named lease while `fn` runs; names already held by `outer` are not taken again. */
  async withLeases<T>(names: string[], fn: (held: Set<string>) => Promise<T>, outer?: Set<string>): Promise<T> {
    const wanted = [...new Set(names)].filter((n) => !outer?.has(n)).sort();
    const token = randomBytes(8).toString('hex');
    const ids = this.leaseId ? wanted.map(this.leaseId) : wanted;
    if (ids.length) await this.takeAll(ids, token);
    try {
      return await fn(new Set([...(outer ?? []), ...wanted]));
    } finally {
      if (ids.length) await this.leases.deleteMany({ _id: { $in: ids }, token });
    }
  }

  private async takeAll(names: string[], token: string): Promise<void> {
    const deadline = Date.now() + this.waitMs;
    let pause = 2;
    for (;;) {
      const busy = await this.tryTake(names, token);
      if (busy.length === 0) return;
      await this.leases.deleteMany({ _id: { $in: names }, token });
      if (Date.now() > deadline) throw new HubError('MPI_LEASE_TIMEOUT', `patient index lease ${busy[0]} stayed busy for ${this.waitMs} ms`);
      await new Promise((r) => setTimeout(r, pause + Math.random() * pause));
      pause = Math.min(pause * 2, 50);
    }
  }

  /** Takes what is free or expired; returns the names another holder keeps. */
  private async tryTake(names: string[], token: string): Promise<string[]> {
    const now = new Date();
    const expiresAt = new Date(now.getTime() + this.ttlMs);
    let refused: string[] = [];
    try {
      await this.leases.insertMany(names.map((_id) => ({ _id, token, owner: this.owner, expiresAt })), { ordered: false });
    } catch (err) {
      const errors = (err as { writeErrors?: Array<{ code?: number; index: number }> | { code?: number; index: number } }).writeErrors;
      const list = Array.isArray(errors) ? errors : errors ? [errors] : [];
      if (!list.length || list.some((e) => e.code !== 11000)) throw err;
      refused = list.map((e) => names[e.index]!);
    }
    const busy: string[] = [];
    for (const name of refused) {
      const stolen = await this.leases.findOneAndUpdate({ _id: name, expiresAt: { $lt: now } }, { $set: { token, owner: this.owner, expiresAt } });
      if (!stolen) busy.push(name);
    }
    return busy;
  }
}

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Db } from 'mongodb';
import type { Logger } from '../core/logger.ts';
import type { FieldProtector } from '../store/fieldProtector.ts';
import type { ResourceStore } from '../store/resourceStore.ts';
import { loadMatchRules, type MatchRules } from './matchRules.ts';
import { LeaseManager } from './mpiLeases.ts';
import { MongoMpiRepository } from './mongoMpiRepository.ts';
import { PatientIndex } from './patientIndex.ts';

/**
 * The Mongo-backed patient index, with a lease owner name unique to this worker. `protection`:
 * encryption at rest (hub/crypto), the same the resource store was given.
 */
export async function createPatientIndex(options: { db: Db; store: ResourceStore; log: Logger; rules?: MatchRules; rulesFile?: string; now?: () => Date; protection?: FieldProtector }): Promise<PatientIndex> {
  const { protection } = options;
  const repo = new MongoMpiRepository(options.db, protection ? { protection } : {});
  await repo.ensureIndexes();
  const owner = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const leaseId = protection ? (name: string) => protection.keyedHash('mpi-lease', name) : undefined;
  return new PatientIndex({
    store: options.store, repo, leases: new LeaseManager(options.db, owner, undefined, undefined, leaseId), log: options.log,
    rules: options.rules ?? loadMatchRules(options.rulesFile), ...(options.now ? { now: options.now } : {}),
  });
}

import { randomUUID } from 'node:crypto';
import type { Db } from 'mongodb';

/**
 * Bulk export requests. Files are not written ahead: each is streamed from the store when
 * fetched, bounded by the job's transaction time, so a job is complete as soon as it exists
 * and costs nothing until someone downloads.
 */
export interface ExportJob {
  id: string;
  /** system: every type; patient: the Patient compartment */
  level: 'system' | 'patient';
  types: string[];
  /** only resources changed at or after this instant */
  since?: string;
  /** only resources as of this instant (the snapshot the manifest describes) */
  transactionTime: string;
  request: string;
  /** token subject that asked, when auth is on */
  owner?: string;
  /** issuer of that token: a subject names a caller only within its issuer */
  ownerIssuer?: string;
}

export interface ExportJobStore {
  create(job: Omit<ExportJob, 'id'>): Promise<ExportJob>;
  get(id: string): Promise<ExportJob | undefined>;
  delete(id: string): Promise<boolean>;
}

interface JobDoc extends Omit<ExportJob, 'id'> {
  _id: string;
}

export class MongoExportJobs implements ExportJobStore {
  constructor(private readonly db: Db) {}

  private get coll() {
    return this.db.collection<JobDoc>('export_jobs');
  }

  async create(job: Omit<ExportJob, 'id'>): Promise<ExportJob> {
    const id = randomUUID();
    await this.coll.insertOne({ _id: id, ...job });
    return { id, ...job };
  }

  async get(id: string): Promise<ExportJob | undefined> {
    const doc = await this.coll.findOne({ _id: id });
    if (!doc) return undefined;
    const { _id, ...rest } = doc;
    return { id: _id, ...rest };
  }

  async delete(id: string): Promise<boolean> {
    return (await this.coll.deleteOne({ _id: id })).deletedCount === 1;
  }
}

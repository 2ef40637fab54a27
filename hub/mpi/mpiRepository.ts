import type { AuditEntry, LinkRecord, MergeSnapshot, NoMatchRecord, ReviewFilter, ReviewItem, SourceEntry } from './mpiRecords.ts';

/**
 * Storage of the patient index, narrow so the index logic does not know MongoDB. Writes that can
 * race are compare-and-set on `version` (links) or insert-if-absent (ids), because the database
 * has no transactions; leases (mpiLeases.ts) order whole operations.
 */
export interface MpiRepository {
  ensureIndexes(): Promise<void>;

  getSource(id: string): Promise<SourceEntry | undefined>;
  getSources(ids: string[]): Promise<SourceEntry[]>;
  putSource(entry: SourceEntry, previousKeys: string[]): Promise<void>;
  /** several sources at once (batch indexing) */
  putSources(list: Array<{ entry: SourceEntry; previousKeys: string[] }>): Promise<void>;
  /** the sources under each blocking key, or 'oversize' past maxBlockSize */
  blockMembers(keys: string[], maxBlockSize: number): Promise<Map<string, string[] | 'oversize'>>;
  /** ids of sources sharing any key, most shared keys first, at most `limit` */
  candidateIds(keys: string[], exclude: string, limit: number, maxBlockSize: number): Promise<string[]>;
  allSources(): AsyncIterable<SourceEntry>;
  countSources(): Promise<number>;

  getLink(source: string): Promise<LinkRecord | undefined>;
  getLinks(sources: string[]): Promise<LinkRecord[]>;
  linksOfGolden(golden: string): Promise<LinkRecord[]>;
  allLinks(): AsyncIterable<LinkRecord>;
  /** insert when expectedVersion is 0, else replace if the stored version is expectedVersion; false on a lost race */
  putLink(link: LinkRecord, expectedVersion: number): Promise<boolean>;
  deleteLink(source: string, expectedVersion: number): Promise<boolean>;
  /** first links of sources (batch indexing); returns the sources whose link was written (another worker may have linked one) */
  putNewLinks(links: LinkRecord[]): Promise<Set<string>>;

  addNoMatch(record: NoMatchRecord): Promise<void>;
  removeNoMatch(a: string, b: string): Promise<void>;
  noMatchesOf(source: string): Promise<string[]>;
  allNoMatches(): AsyncIterable<NoMatchRecord>;

  getReview(id: string): Promise<ReviewItem | undefined>;
  /** creates or refreshes an OPEN item; a decided item stays decided */
  upsertOpenReview(item: ReviewItem): Promise<void>;
  decideReview(id: string, status: ReviewItem['status'], who: string, reason: string | undefined, at: string): Promise<boolean>;
  listReviews(filter: ReviewFilter): Promise<{ items: ReviewItem[]; total: number }>;

  insertMerge(snapshot: MergeSnapshot): Promise<void>;
  getMerge(id: string): Promise<MergeSnapshot | undefined>;
  setMergeStatus(id: string, from: MergeSnapshot['status'], to: MergeSnapshot['status'], extra?: Partial<MergeSnapshot>): Promise<boolean>;
  appliedMergesInto(golden: string): Promise<MergeSnapshot[]>;
  latestAppliedMergeFrom(golden: string): Promise<MergeSnapshot | undefined>;

  audit(entry: AuditEntry): Promise<void>;
  auditMany(entries: AuditEntry[]): Promise<void>;
  auditTrail(filter: { source?: string; golden?: string; limit?: number }): Promise<AuditEntry[]>;
}

/** What one request may ask of the server, so a single client cannot stall it (config `api.limits`). */
export interface ApiLimits {
  /** largest accepted request body, in bytes */
  maxBodyBytes: number;
  defaultCount: number;
  maxCount: number;
  /** search parameters in one query, paging and result parameters included */
  maxParameters: number;
  /** comma-separated alternatives in one parameter value */
  maxValuesPerParameter: number;
  /** links in a chain (`subject:Patient.organization.name` is 2) */
  maxChainDepth: number;
  /** _include plus _revinclude parameters */
  maxIncludes: number;
  /** resources a chain or _has may resolve to before the search is refused as too costly */
  maxIntermediateMatches: number;
  /** resources added by _include/_revinclude to one page */
  maxIncludedResources: number;
}

export const DEFAULT_API_LIMITS: ApiLimits = {
  maxBodyBytes: 1_048_576,
  defaultCount: 50,
  maxCount: 1000,
  maxParameters: 30,
  maxValuesPerParameter: 100,
  maxChainDepth: 2,
  maxIncludes: 5,
  maxIntermediateMatches: 10_000,
  maxIncludedResources: 1000,
};

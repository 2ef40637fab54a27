/** The `auth:` section of the configuration (schemas/config.schema.json). */
export interface AuthConfig {
  /** false: the API is open (tests, a trusted network); true: every request but /metadata needs a bearer JWT */
  enabled: boolean;
  issuer: string;
  audience: string;
  /** where the issuer publishes its signing keys */
  jwksUrl?: string;
  /** static verification keys: PEM (SPKI) text or JWK JSON */
  publicKeys?: string[];
  /** HS256 secret for `hub token` in the quick start; refused unless the API listens on loopback */
  devSecret?: string;
  /** accepted clock difference */
  clockToleranceSeconds?: number;
  /**
   * longest accepted token lifetime: exp - iat, or exp - now for a token without iat (default
   * DEFAULT_MAX_TOKEN_LIFETIME_SECONDS); a stolen long-lived token would otherwise work for years
   */
  maxTokenLifetimeSeconds?: number;
}

export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 24 * 3600;

export function maxTokenLifetimeOf(config: AuthConfig): number {
  return config.maxTokenLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
}

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
}

/** Who is calling, once the bearer key is known (SPEC §6). */
export interface Principal {
  keyId: string;
  orgId: string;
  /** The key's project, else its organization's `default` project. */
  projectId: string;
  /** The internal service key: no rate limits, no billing, still logged. */
  isInternal: boolean;
  /** Requests per window for the key's own bucket; `null` means the key has no bucket (SPEC §7). */
  keyRateLimit: number | null;
  /** Tokens per window for the key; `null` means none. */
  keyTokenRateLimit: number | null;
  /** Requests per window for the org bucket; `null` means `rateLimit.orgLimit`. */
  orgRateLimit: number | null;
  /** Tokens per window for the organization; `null` means none. */
  orgTokenRateLimit: number | null;
}

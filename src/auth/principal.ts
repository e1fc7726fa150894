/** Who is calling, once the bearer key is known (SPEC §6). */
export interface Principal {
  keyId: string;
  orgId: string;
  projectId: string;
  /** The internal service key: no rate limits, no billing, still logged. */
  isInternal: boolean;
}

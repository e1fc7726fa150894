import type { TimeoutsConfig } from './config.js';

export interface Pricing {
  input: number | null;
  output: number | null;
  cache_read: number | null;
  cache_write: number | null;
  request: number | null;
  image: number | null;
}

/**
 * A catalog entry as routing and providers use it (SPEC §5.1); routing/model-catalog.ts builds them
 * and gives their wire shape.
 */
export interface CatalogModel {
  id: string;
  created: number;
  ownedBy: string;
  slug: string;
  displayName: string;
  provider: string;
  contextWindow: number | null;
  maxOutputTokens: number | null;
  pricing: Pricing;
  inputModalities: string[];
  outputModalities: string[];
  supportedParameters: string[] | undefined;
  supportedApis: ('chat' | 'responses')[];
  upstreamModel: string;
  aliases: string[];
  enabled: boolean;
  timeouts: Partial<TimeoutsConfig>;
}

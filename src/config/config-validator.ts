import { Ajv } from 'ajv';
import type { ParsedFile } from './config.js';
import { configSchema } from './config-schema.js';

/** First error only; the documented defaults are filled into the file as it is checked. */
export const configValidatorOptions = {
  allErrors: false,
  useDefaults: true,
  strict: true,
  allowUnionTypes: true,
} as const;

/**
 * Checks a parsed config file against `configSchema` and fills in its defaults. The production
 * bundle replaces this module with the same validator compiled at build time
 * (scripts/bundle-gateway.ts): compiling it, and Ajv's meta-schema with it, took about a sixth of
 * the gateway's start-up.
 */
export const validateConfigFile = new Ajv(configValidatorOptions).compile<ParsedFile>(configSchema);

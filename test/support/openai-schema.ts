import { readFileSync } from 'node:fs';
import { Ajv2019, type ValidateFunction } from 'ajv/dist/2019.js';

/**
 * Validators for OpenAI's official schemas (extracted from the pinned OpenAPI document by
 * scripts/extract-openai-schemas.ts). Compiled once per test process.
 */
const document = JSON.parse(readFileSync(new URL('./openai-schemas.json', import.meta.url), 'utf8')) as {
  components: { schemas: Record<string, unknown> };
};

const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema({ $id: 'openai', components: document.components });

const cache = new Map<string, ValidateFunction>();

export type OpenAiSchemaName =
  | 'CreateChatCompletionRequest'
  | 'CreateChatCompletionResponse'
  | 'CreateChatCompletionStreamResponse'
  | 'ErrorResponse'
  | 'ListModelsResponse'
  | 'Model'
  | 'Response'
  | 'ResponseStreamEvent'
  | 'CreateResponse';

/** Throws with Ajv's messages when `value` does not validate against the named OpenAI schema. */
export function assertOpenAiSchema(name: OpenAiSchemaName, value: unknown): void {
  let validate = cache.get(name);
  if (!validate) {
    validate = ajv.compile({ $ref: `openai#/components/schemas/${name}` });
    cache.set(name, validate);
  }
  if (!validate(value)) {
    throw new Error(
      `${name} schema violation: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(value).slice(0, 2000)}`,
    );
  }
}

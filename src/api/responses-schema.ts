/**
 * JSON Schema of `POST /v1/responses` (SPEC §12.1), top-level fields only. Input items are checked
 * by the request mapper (responses-request.ts), which names the offending `input[i]` path; the
 * gateway-only fields reuse the chat schema so both endpoints accept exactly the same values.
 */
import { chatCompletionRequestSchema } from './chat-completion-schema.js';

const chat = chatCompletionRequestSchema.properties;
const nullable = <T extends object>(schema: T) => ({ anyOf: [schema, { type: 'null' }] }) as const;

const textFormat = {
  type: 'object',
  required: ['type'],
  discriminator: { propertyName: 'type' },
  oneOf: [
    { properties: { type: { const: 'text' } } },
    { properties: { type: { const: 'json_object' } } },
    {
      properties: {
        type: { const: 'json_schema' },
        name: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
        description: { type: 'string' },
        schema: { type: 'object' },
        strict: { type: ['boolean', 'null'] },
      },
      required: ['name', 'schema'],
    },
  ],
} as const;

const functionTool = {
  type: 'object',
  required: ['type'],
  properties: { type: { type: 'string' } },
  if: { properties: { type: { const: 'function' } } },
  // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keyword, not a thenable.
  then: {
    required: ['name'],
    properties: {
      name: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
      description: { type: ['string', 'null'] },
      parameters: { type: ['object', 'null'] },
      strict: { type: ['boolean', 'null'] },
    },
  },
} as const;

export const createResponseSchema = {
  type: 'object',
  required: ['model', 'input'],
  properties: {
    model: { type: 'string', minLength: 1 },
    input: {
      anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'object' } }],
    },
    instructions: { type: ['string', 'null'] },
    stream: { type: 'boolean' },
    store: { type: 'boolean' },
    background: { type: 'boolean' },
    previous_response_id: { type: ['string', 'null'] },
    max_output_tokens: nullable({ type: 'integer', minimum: 1 }),
    temperature: nullable({ type: 'number', minimum: 0, maximum: 2 }),
    top_p: nullable({ type: 'number', minimum: 0, maximum: 1 }),
    user: { type: 'string' },
    safety_identifier: { type: 'string' },
    prompt_cache_key: { type: 'string' },
    service_tier: { type: 'string' },
    reasoning: {
      type: ['object', 'null'],
      properties: {
        effort: nullable({ enum: ['none', 'minimal', 'low', 'medium', 'high'] }),
        summary: nullable({ enum: ['auto', 'concise', 'detailed'] }),
      },
    },
    text: { type: 'object', properties: { format: textFormat } },
    tools: { type: 'array', maxItems: 128, items: functionTool },
    tool_choice: {
      anyOf: [
        { enum: ['none', 'auto', 'required'] },
        { type: 'object', required: ['type'], properties: { type: { type: 'string' } } },
      ],
    },
    parallel_tool_calls: { type: 'boolean' },
    truncation: nullable({ enum: ['auto', 'disabled'] }),
    models: chat.models,
    metadata: chat.metadata,
    tags: chat.tags,
    trace: chat.trace,
  },
} as const;

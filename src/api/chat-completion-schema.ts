/**
 * JSON Schema of `POST /v1/chat/completions` (SPEC §3.1–3.2). Fastify compiles it once; the same
 * object feeds `/openapi.json`. Semantic rules the schema cannot say (n > 1, named tool exists,
 * size caps) live in chat-completion-rules.ts.
 */
const textPart = {
  type: 'object',
  required: ['type', 'text'],
  properties: { type: { const: 'text' }, text: { type: 'string' } },
} as const;

const imagePart = {
  type: 'object',
  required: ['type', 'image_url'],
  properties: {
    type: { const: 'image_url' },
    image_url: {
      type: 'object',
      required: ['url'],
      properties: {
        url: { type: 'string', pattern: '^(https?://|data:image/)' },
        detail: { enum: ['auto', 'low', 'high'] },
      },
    },
  },
} as const;

const audioPart = {
  type: 'object',
  required: ['type', 'input_audio'],
  properties: {
    type: { const: 'input_audio' },
    input_audio: {
      type: 'object',
      required: ['data', 'format'],
      properties: { data: { type: 'string' }, format: { enum: ['wav', 'mp3'] } },
    },
  },
} as const;

const filePart = {
  type: 'object',
  required: ['type', 'file'],
  properties: {
    type: { const: 'file' },
    file: {
      type: 'object',
      properties: {
        file_data: { type: 'string', pattern: '^data:' },
        filename: { type: 'string' },
        file_id: { type: 'string' },
      },
    },
  },
} as const;

const refusalPart = {
  type: 'object',
  required: ['type', 'refusal'],
  properties: { type: { const: 'refusal' }, refusal: { type: 'string' } },
} as const;

function partsOf(...parts: readonly object[]) {
  return {
    items: { type: 'object', required: ['type'], discriminator: { propertyName: 'type' }, oneOf: parts },
  } as const;
}

const textContent = { type: ['string', 'array'], ...partsOf(textPart) } as const;

const toolCall = {
  type: 'object',
  required: ['id', 'type', 'function'],
  properties: {
    id: { type: 'string' },
    type: { const: 'function' },
    function: {
      type: 'object',
      required: ['name', 'arguments'],
      properties: { name: { type: 'string' }, arguments: { type: 'string' } },
    },
  },
} as const;

const message = {
  type: 'object',
  required: ['role'],
  discriminator: { propertyName: 'role' },
  oneOf: [
    {
      properties: { role: { const: 'system' }, content: textContent, name: { type: 'string' } },
      required: ['content'],
    },
    {
      properties: { role: { const: 'developer' }, content: textContent, name: { type: 'string' } },
      required: ['content'],
    },
    {
      properties: {
        role: { const: 'user' },
        content: { type: ['string', 'array'], ...partsOf(textPart, imagePart, audioPart, filePart) },
        name: { type: 'string' },
      },
      required: ['content'],
    },
    {
      properties: {
        role: { const: 'assistant' },
        content: { type: ['string', 'array', 'null'], ...partsOf(textPart, refusalPart) },
        name: { type: 'string' },
        refusal: { type: ['string', 'null'] },
        tool_calls: { type: 'array', items: toolCall },
        reasoning_details: { type: 'array', items: { type: 'object', required: ['type'] } },
      },
    },
    {
      properties: { role: { const: 'tool' }, content: textContent, tool_call_id: { type: 'string' } },
      required: ['content', 'tool_call_id'],
    },
    {
      properties: {
        role: { const: 'function' },
        content: { type: ['string', 'null'] },
        name: { type: 'string' },
      },
      required: ['name'],
    },
  ],
} as const;

const effort = { enum: ['none', 'minimal', 'low', 'medium', 'high'] } as const;

export const chatCompletionRequestSchema = {
  type: 'object',
  required: ['model', 'messages'],
  properties: {
    model: { type: 'string', minLength: 1 },
    messages: { type: 'array', minItems: 1, items: message },
    models: { type: 'array', maxItems: 5, items: { type: 'string', minLength: 1 } },
    temperature: { type: 'number', minimum: 0, maximum: 2 },
    top_p: { type: 'number', minimum: 0, maximum: 1 },
    frequency_penalty: { type: 'number', minimum: -2, maximum: 2 },
    presence_penalty: { type: 'number', minimum: -2, maximum: 2 },
    seed: { type: 'integer' },
    logit_bias: { type: 'object', additionalProperties: { type: 'number', minimum: -100, maximum: 100 } },
    stop: { type: ['string', 'array', 'null'], maxItems: 4, items: { type: 'string' } },
    max_completion_tokens: { type: 'integer', minimum: 1 },
    max_tokens: { type: 'integer', minimum: 1 },
    logprobs: { type: 'boolean' },
    top_logprobs: { type: 'integer', minimum: 0, maximum: 20 },
    n: { type: 'integer', minimum: 1 },
    stream: { type: 'boolean' },
    stream_options: {
      type: ['object', 'null'],
      properties: { include_usage: { type: 'boolean' } },
    },
    tools: {
      type: 'array',
      maxItems: 128,
      items: {
        type: 'object',
        required: ['type'],
        properties: { type: { type: 'string' } },
        if: { properties: { type: { const: 'function' } } },
        // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keyword, not a thenable.
        then: {
          required: ['function'],
          properties: {
            function: {
              type: 'object',
              required: ['name'],
              properties: {
                name: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
                description: { type: 'string' },
                parameters: { type: 'object' },
                strict: { type: ['boolean', 'null'] },
              },
            },
          },
        },
      },
    },
    tool_choice: {
      anyOf: [
        { enum: ['none', 'auto', 'required'] },
        {
          type: 'object',
          required: ['type', 'function'],
          properties: {
            type: { const: 'function' },
            function: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
          },
        },
      ],
    },
    parallel_tool_calls: { type: 'boolean' },
    response_format: {
      type: 'object',
      required: ['type'],
      discriminator: { propertyName: 'type' },
      oneOf: [
        { properties: { type: { const: 'text' } } },
        { properties: { type: { const: 'json_object' } } },
        {
          properties: {
            type: { const: 'json_schema' },
            json_schema: {
              type: 'object',
              required: ['name'],
              properties: {
                name: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
                description: { type: 'string' },
                schema: { type: 'object' },
                strict: { type: ['boolean', 'null'] },
              },
            },
          },
          required: ['json_schema'],
        },
      ],
    },
    reasoning: {
      type: 'object',
      properties: {
        effort,
        max_tokens: { type: 'integer', minimum: 0 },
        exclude: { type: 'boolean' },
        enabled: { type: 'boolean' },
      },
    },
    reasoning_effort: effort,
    user: { type: 'string' },
    store: { type: 'boolean' },
    metadata: {
      type: 'object',
      maxProperties: 64,
      propertyNames: { maxLength: 64 },
    },
    tags: { type: 'array', maxItems: 32, items: { type: 'string', minLength: 1, maxLength: 64 } },
    trace: {
      type: 'object',
      required: ['id'],
      properties: {
        id: { type: 'string', minLength: 1, maxLength: 128 },
        span_id: { type: 'string', maxLength: 128 },
        parent_span_id: { type: 'string', maxLength: 128 },
        name: { type: 'string', maxLength: 256 },
        source: { type: 'string', maxLength: 256 },
      },
      additionalProperties: { type: ['string', 'number', 'boolean', 'null'] },
    },
  },
} as const;

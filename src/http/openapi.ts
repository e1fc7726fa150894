import { chatCompletionRequestSchema } from '../api/chat-completion-schema.js';
import { catalog } from '../errors/catalog.js';

const errorResponse = { $ref: '#/components/responses/Error' };

function errorResponses(...statuses: number[]) {
  return Object.fromEntries(statuses.map((status) => [String(status), errorResponse]));
}

/**
 * The OpenAPI 3.1 document of this surface (SPEC §2), built from the same schemas that validate
 * requests, so the two cannot drift.
 */
export function buildOpenApiDocument() {
  const security = [{ bearer: [] }];
  const common = errorResponses(401, 403, 429, 500, 503);
  return {
    openapi: '3.1.0',
    info: { title: 'Maniac Gateway', version: '1' },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        CreateChatCompletionRequest: chatCompletionRequestSchema,
        ErrorResponse: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['message', 'type', 'param', 'code'],
              properties: {
                message: { type: 'string' },
                type: { enum: [...new Set(Object.values(catalog).map((entry) => entry.type))] },
                param: { type: ['string', 'null'] },
                code: { type: ['string', 'null'] },
              },
            },
          },
        },
      },
      responses: {
        Error: {
          description: 'Error envelope',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorResponse' } } },
        },
      },
    },
    paths: {
      '/v1/models': {
        get: {
          summary: 'List enabled catalog models',
          security,
          responses: { '200': { description: 'Model list' }, ...common },
        },
      },
      '/v1/models/{id}': {
        get: {
          summary: 'One model',
          security,
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { '200': { description: 'Model' }, ...common, ...errorResponses(404) },
        },
      },
      '/v1/chat/completions': {
        post: {
          summary: 'Chat completion, JSON or SSE',
          security,
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/CreateChatCompletionRequest' } },
            },
          },
          responses: {
            '200': {
              description: 'A chat.completion, or a text/event-stream of chat.completion.chunk',
            },
            ...common,
            ...errorResponses(400, 402, 404, 502),
          },
        },
      },
      '/healthz': { get: { summary: 'Liveness', responses: { '200': { description: 'Alive' } } } },
      '/readyz': {
        get: {
          summary: 'Readiness',
          responses: { '200': { description: 'Ready' }, '503': { description: 'Not ready' } },
        },
      },
      '/metrics': {
        get: { summary: 'Prometheus metrics', responses: { '200': { description: 'Metrics' } } },
      },
    },
  };
}

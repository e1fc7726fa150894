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
        get: {
          summary:
            'List stored completions (filters: container, model, tag, trace_id, from, to, status, source)',
          security,
          responses: { '200': { description: 'List' }, ...common },
        },
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
      '/v1/chat/completions/{id}': {
        get: {
          summary: 'One stored completion',
          security,
          responses: { '200': { description: 'Completion' }, ...common, ...errorResponses(404) },
        },
      },
      '/v1/chat/completions/register': {
        post: {
          summary: 'Register externally produced completions',
          security,
          responses: { '200': { description: 'Registration' }, ...common, ...errorResponses(400) },
        },
      },
      '/v1/containers': {
        get: {
          summary: 'List containers (?label= returns one)',
          security,
          responses: { '200': { description: 'List' }, ...common },
        },
        post: {
          summary: 'Get or create a container by label',
          security,
          responses: {
            '200': { description: 'Existing' },
            '201': { description: 'Created' },
            ...common,
            ...errorResponses(400),
          },
        },
      },
      '/v1/containers/{label}': {
        get: {
          summary: 'One container',
          security,
          responses: { '200': { description: 'Container' }, ...common, ...errorResponses(404) },
        },
        patch: {
          summary: 'Update model, system prompt or models',
          security,
          responses: { '200': { description: 'Container' }, ...common, ...errorResponses(400, 404) },
        },
        delete: {
          summary: 'Delete a container',
          security,
          responses: { '200': { description: 'Deleted' }, ...common, ...errorResponses(404) },
        },
      },
      '/v1/containers/{label}/models': {
        post: {
          summary: 'Attach models',
          security,
          responses: { '200': { description: 'Container' }, ...common, ...errorResponses(400, 404) },
        },
      },
      '/v1/traces': {
        get: {
          summary: 'Traces aggregated by trace id',
          security,
          responses: { '200': { description: 'List' }, ...common },
        },
      },
      '/v1/traces/{id}': {
        get: {
          summary: 'One trace with its requests in order',
          security,
          responses: { '200': { description: 'Trace' }, ...common, ...errorResponses(404) },
        },
      },
      '/v1/usage': {
        get: {
          summary: 'Usage and cost (group_by day, hour, model, container, key)',
          security,
          responses: { '200': { description: 'Usage' }, ...common },
        },
      },
      '/v1/responses': {
        post: {
          summary: 'Create a response (foreground, stream or background)',
          security,
          responses: {
            '200': { description: 'A response object, or a text/event-stream of response events' },
            ...common,
            ...errorResponses(400, 402, 404, 502),
          },
        },
      },
      '/v1/responses/{id}': {
        get: {
          summary: 'Retrieve; ?stream=true replays or tails the events',
          security,
          responses: { '200': { description: 'Response' }, ...common, ...errorResponses(404) },
        },
        delete: {
          summary: 'Delete a stored response',
          security,
          responses: { '200': { description: 'Deleted' }, ...common, ...errorResponses(404) },
        },
      },
      '/v1/responses/{id}/cancel': {
        post: {
          summary: 'Cancel a background response',
          security,
          responses: { '200': { description: 'Response' }, ...common, ...errorResponses(400, 404) },
        },
      },
      '/v1/requests': {
        get: {
          summary: 'The request log of the project, every outcome',
          security,
          responses: { '200': { description: 'List' }, ...common },
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

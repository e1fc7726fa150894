/**
 * The closed catalog of every error the gateway emits (SPEC §9.2). Each code maps to its HTTP status,
 * OpenAI error `type` and a message template; `{name}` placeholders are filled from the error's values.
 * `docs/errors.md` is generated from this table and a test keeps the two in step. Money placeholders
 * (`{estimate}`, `{available}`, `{limit}`) are passed already formatted, as `$0.0123`.
 */
export interface CatalogEntry {
  readonly status: 400 | 401 | 402 | 403 | 404 | 429 | 500 | 502 | 503;
  readonly type:
    | 'invalid_request_error'
    | 'authentication_error'
    | 'permission_error'
    | 'not_found_error'
    | 'rate_limit_error'
    | 'api_error'
    | 'overloaded_error';
  readonly message: string;
  /** When it happens, for docs/errors.md. */
  readonly when: string;
}

export const catalog = {
  invalid_json: {
    status: 400,
    type: 'invalid_request_error',
    message: 'Request body is not valid JSON.',
    when: 'The body could not be parsed as JSON.',
  },
  request_too_large: {
    status: 400,
    type: 'invalid_request_error',
    message: 'Request body exceeds {limit} bytes.',
    when: 'The body is larger than `server.maxBodyBytes`; it is not read further.',
  },
  missing_required_parameter: {
    status: 400,
    type: 'invalid_request_error',
    message: "Missing required parameter: '{param}'.",
    when: 'A required field is absent.',
  },
  invalid_type: {
    status: 400,
    type: 'invalid_request_error',
    message: "Invalid type for '{param}': expected {expected}.",
    when: 'A field has the wrong JSON type.',
  },
  invalid_value: {
    status: 400,
    type: 'invalid_request_error',
    message: "Invalid value for '{param}': {reason}.",
    when: 'Out of range, not in an enum, inconsistent with another field, or a wrong Content-Type.',
  },
  unsupported_parameter: {
    status: 400,
    type: 'invalid_request_error',
    message: '{reason}',
    when: 'A parameter the serving provider cannot honour (map-or-reject table), or `n` > 1.',
  },
  upstream_bad_request: {
    status: 400,
    type: 'invalid_request_error',
    message: '{provider} rejected the request: {upstreamMessage}',
    when: 'The upstream answered 400, 413 or 422; its `param` is copied.',
  },
  container_not_found: {
    status: 400,
    type: 'invalid_request_error',
    message: "No container found with label '{label}'.",
    when: 'An unknown container label in a query or body reference.',
  },
  response_not_cancellable: {
    status: 400,
    type: 'invalid_request_error',
    message: 'Only background responses that are queued or in progress can be cancelled.',
    when: 'Cancel on a response that is not a queued or running background response.',
  },
  missing_api_key: {
    status: 401,
    type: 'authentication_error',
    message: "Missing API key. Send it as 'Authorization: Bearer <key>'.",
    when: 'No `Authorization: Bearer` header.',
  },
  invalid_api_key: {
    status: 401,
    type: 'authentication_error',
    message: 'Invalid API key.',
    when: 'Unknown, disabled, revoked or expired key.',
  },
  insufficient_credits: {
    status: 402,
    type: 'invalid_request_error',
    message:
      'Insufficient credits: this request may cost up to {estimate} but the available balance is {available}.',
    when: 'Prepaid billing: the worst-case estimate exceeds the available balance.',
  },
  budget_exceeded: {
    status: 402,
    type: 'invalid_request_error',
    message: "Budget exceeded for {scope} '{id}' ({period} limit {limit}).",
    when: 'A budget would be exceeded by the worst-case estimate.',
  },
  billing_not_configured: {
    status: 402,
    type: 'invalid_request_error',
    message: 'Billing is not configured for this organization.',
    when: 'Prepaid billing and the organization has no billing account.',
  },
  no_organization: {
    status: 403,
    type: 'permission_error',
    message: 'API key is not associated with an organization.',
    when: 'The key belongs to no organization.',
  },
  organization_disabled: {
    status: 403,
    type: 'permission_error',
    message: 'Organization is disabled.',
    when: "The key's organization is disabled.",
  },
  model_not_found: {
    status: 404,
    type: 'not_found_error',
    message: "No model found with id '{model}'.",
    when: 'Unknown model, alias, container label or unattached pin.',
  },
  response_not_found: {
    status: 404,
    type: 'not_found_error',
    message: "No response found with id '{id}'.",
    when: 'Unknown or other-organization response id.',
  },
  completion_not_found: {
    status: 404,
    type: 'not_found_error',
    message: "No completion found with id '{id}'.",
    when: "Stored completion not in the caller's project.",
  },
  container_path_not_found: {
    status: 404,
    type: 'not_found_error',
    message: "No container found with id '{id}'.",
    when: "Container in the path not in the caller's project (wire code `container_not_found`).",
  },
  organization_not_found: {
    status: 404,
    type: 'not_found_error',
    message: "No organization found with id '{id}'.",
    when: 'Admin API and CLI: unknown organization id or name.',
  },
  project_not_found: {
    status: 404,
    type: 'not_found_error',
    message: "No project found with id '{id}'.",
    when: 'Admin API and CLI: unknown project id.',
  },
  key_not_found: {
    status: 404,
    type: 'not_found_error',
    message: "No API key found with id '{id}'.",
    when: 'Admin API and CLI: unknown key id.',
  },
  request_not_found: {
    status: 404,
    type: 'not_found_error',
    message: "No request found with id '{id}'.",
    when: "Request log entry not in the caller's project.",
  },
  trace_not_found: {
    status: 404,
    type: 'not_found_error',
    message: "No trace found with id '{id}'.",
    when: "Trace not in the caller's project.",
  },
  unknown_route: {
    status: 404,
    type: 'not_found_error',
    message: 'Unknown route: {method} {path}.',
    when: 'No such route, or a method the route does not serve.',
  },
  rate_limit_exceeded: {
    status: 429,
    type: 'rate_limit_error',
    message: 'rate limit exceeded',
    when: 'A fixed-window bucket is exhausted; `Retry-After` is set.',
  },
  token_rate_limit_exceeded: {
    status: 429,
    type: 'rate_limit_error',
    message: 'token rate limit exceeded',
    when: 'The window token count reached the limit (wire code `rate_limit_exceeded`).',
  },
  upstream_rate_limited: {
    status: 429,
    type: 'rate_limit_error',
    message: '{provider} rate limit exceeded.',
    when: 'The upstream answered 429 and no fallback succeeded; its `Retry-After` is forwarded.',
  },
  internal_error: {
    status: 500,
    type: 'api_error',
    message: 'Internal server error.',
    when: 'A bug; details only in the logs.',
  },
  provider_key_missing: {
    status: 502,
    type: 'api_error',
    message: "No API key is configured for provider '{provider}'.",
    when: 'The resolved provider has no credential configured.',
  },
  upstream_unreachable: {
    status: 502,
    type: 'api_error',
    message: '{provider} could not be reached.',
    when: 'Connection, DNS or TLS failure.',
  },
  upstream_timeout: {
    status: 502,
    type: 'api_error',
    message: '{provider} did not answer in {timeoutMs} ms.',
    when: 'Connect, first-byte, idle or total timeout; upstream 408.',
  },
  upstream_auth_failed: {
    status: 502,
    type: 'api_error',
    message: "{provider} rejected the gateway's credentials.",
    when: 'Upstream 401 or 403.',
  },
  upstream_error: {
    status: 502,
    type: 'api_error',
    message: '{provider} returned an error: {upstreamMessage}',
    when: 'Upstream 404, 5xx or an unmapped status; a broken stream.',
  },
  upstream_invalid_response: {
    status: 502,
    type: 'api_error',
    message: '{provider} returned a response that could not be parsed.',
    when: 'Unparsable upstream body or SSE, wrong content type, oversized response.',
  },
  upstream_overloaded: {
    status: 503,
    type: 'overloaded_error',
    message: '{provider} is overloaded.',
    when: 'Upstream 503, 529 or an overloaded payload.',
  },
  auth_unavailable: {
    status: 503,
    type: 'api_error',
    message: 'Authentication is temporarily unavailable.',
    when: 'The key store is unreachable and the key is not cached.',
  },
  billing_unavailable: {
    status: 503,
    type: 'api_error',
    message: 'Billing is temporarily unavailable.',
    when: 'The billing store is unreachable.',
  },
  storage_unavailable: {
    status: 503,
    type: 'api_error',
    message: 'Storage is temporarily unavailable.',
    when: 'A platform endpoint cannot reach the store.',
  },
  background_unavailable: {
    status: 503,
    type: 'api_error',
    message: 'Background responses are temporarily unavailable.',
    when: 'A background job cannot be persisted or the queue is full.',
  },
  shutting_down: {
    status: 503,
    type: 'api_error',
    message: 'The gateway is shutting down.',
    when: 'The gateway is draining.',
  },
} as const satisfies Record<string, CatalogEntry>;

export type ErrorCode = keyof typeof catalog;

/**
 * A few catalog entries share a wire `code` with another entry but differ in status or message
 * (the spec uses `container_not_found` for both 400 and 404, `rate_limit_exceeded` for both limits).
 */
export const wireCodeOf: Partial<Record<ErrorCode, string>> = {
  container_path_not_found: 'container_not_found',
  token_rate_limit_exceeded: 'rate_limit_exceeded',
};

import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import { GatewayError, invalidType, invalidValue, missingParameter } from '../errors/gateway-error.js';

/**
 * One Ajv instance for request bodies, made with the first validator. No coercion, no removal of
 * extra keys, no defaults: the body that passes is the body the client sent, so unknown fields still
 * reach OpenAI-style upstreams.
 *
 * Ajv and its URI parser are a third of the bundle: they load on first use (`loadBodyValidation`,
 * which the gateway calls once it is ready), so that start-up does not compile them.
 */
let ajv: Ajv | undefined;
let loading: Promise<Ajv> | undefined;

/** Loads Ajv and makes the instance; every validator waits for it, the first request at most. */
export function loadBodyValidation(): Promise<Ajv> {
  loading ??= import('ajv').then((module) => {
    // Ajv is CommonJS: Node finds its `Ajv` export by name; the bundle (esbuild) gives only `default`,
    // the module object, which carries `Ajv` too.
    const AjvClass = module.Ajv ?? (module.default as unknown as { Ajv: typeof module.Ajv }).Ajv;
    ajv = new AjvClass({
      allErrors: false,
      coerceTypes: false,
      useDefaults: false,
      removeAdditional: false,
      discriminator: true,
      strict: false,
      allowUnionTypes: true,
    });
    return ajv;
  });
  return loading;
}

/** `/messages/2/content/0` → `messages[2].content[0]`, the OpenAI spelling of `param`. */
export function paramPath(instancePath: string, child?: string): string {
  let out = '';
  for (const segment of instancePath.split('/').slice(1)) {
    const name = segment.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(name) ? `[${name}]` : out ? `.${name}` : name;
  }
  if (child !== undefined) out += out ? `.${child}` : child;
  return out;
}

function typeName(type: unknown): string {
  const types = Array.isArray(type) ? type : [type];
  return types
    .map((item) =>
      item === 'integer'
        ? 'an integer'
        : item === 'array'
          ? 'an array'
          : item === 'object'
            ? 'an object'
            : `a ${item}`,
    )
    .join(' or ');
}

/** Turns the first schema violation into the catalog error the spec names for it (SPEC §9.2). */
export function toGatewayError(errors: ErrorObject[]): GatewayError {
  const alternatives = errors.find((error) => error.keyword === 'anyOf' || error.keyword === 'oneOf');
  const error = alternatives ?? errors[0];
  if (!error) return new GatewayError('invalid_value', { param: 'body', reason: 'invalid' }, { param: null });
  const param = paramPath(error.instancePath);
  switch (error.keyword) {
    case 'required':
      return missingParameter(
        paramPath(error.instancePath, (error.params as { missingProperty: string }).missingProperty),
      );
    case 'type':
      return invalidType(param, typeName((error.params as { type: unknown }).type));
    case 'discriminator': {
      const { tag } = error.params as { tag: string; tagValue: unknown };
      const detail = (error.params as { error?: string }).error;
      if (detail === 'tag') return missingParameter(paramPath(error.instancePath, tag));
      return invalidValue(paramPath(error.instancePath, tag), `unsupported ${tag}`);
    }
    case 'const':
    case 'enum': {
      const allowed = (error.params as { allowedValues?: unknown[]; allowedValue?: unknown })
        .allowedValues ?? [(error.params as { allowedValue?: unknown }).allowedValue];
      return invalidValue(
        param,
        `must be one of ${allowed.map((value) => JSON.stringify(value)).join(', ')}`,
      );
    }
    case 'anyOf':
    case 'oneOf':
      return invalidValue(param, 'does not match any allowed shape');
    default:
      return invalidValue(param, error.message ?? 'invalid');
  }
}

/**
 * A validator for one body schema, compiled on first use: compiling the chat schema is the largest
 * single cost of start-up, and a process that never serves the route never pays it. It answers at
 * once once Ajv is loaded, and waits for it before.
 */
export function compileBodyValidator<T>(schema: object): (body: unknown) => T | Promise<T> {
  let validate: ValidateFunction | undefined;
  const check = (instance: Ajv, body: unknown): T => {
    validate ??= instance.compile(schema);
    if (body === undefined) throw new GatewayError('invalid_json');
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new GatewayError('invalid_type', { param: 'body', expected: 'an object' }, { param: null });
    }
    if (!validate(body)) throw toGatewayError(validate.errors ?? []);
    return body as T;
  };
  return (body: unknown): T | Promise<T> =>
    ajv === undefined ? loadBodyValidation().then((instance) => check(instance, body)) : check(ajv, body);
}

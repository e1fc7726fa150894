import type { GeminiSchema } from './wire.js';

/**
 * Translates a tool's JSON Schema into the OpenAPI 3.0 subset that `FunctionDeclaration.parameters`
 * accepts. That field is a protobuf `Schema`, so any keyword outside its fields is a hard 400
 * ("Invalid JSON payload received. Unknown name …"): `$schema`, `additionalProperties`, `const`,
 * `oneOf`, `allOf`, `$ref`/`$defs`, `exclusiveMinimum`, `uniqueItems`, `propertyNames`, `examples`…
 * Those are translated where a faithful equivalent exists and stripped otherwise (SPEC §4).
 * @see https://ai.google.dev/api/caching#Schema
 */
const copiedKeywords = [
  'title',
  'description',
  'nullable',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'minLength',
  'maxLength',
  'pattern',
  'minimum',
  'maximum',
  'default',
  'example',
  'propertyOrdering',
] as const;

/** Gemini rejects other `format` values for the Developer API. */
const formatsByType: Record<string, readonly string[]> = {
  STRING: ['enum', 'date-time'],
  NUMBER: ['float', 'double'],
  INTEGER: ['int32', 'int64'],
};

const geminiTypes = new Set(['STRING', 'NUMBER', 'INTEGER', 'BOOLEAN', 'ARRAY', 'OBJECT']);

type JsonSchema = Record<string, unknown>;

interface Context {
  root: JsonSchema;
  /** `$ref`s being expanded on the current path; a repeat is a cycle. */
  expanding: Set<string>;
}

function isObject(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function resolveRef(ref: string, context: Context): JsonSchema | undefined {
  const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
  if (!match) return undefined;
  const definitions = context.root[match[1] as string];
  const name = (match[2] as string).replace(/~1/g, '/').replace(/~0/g, '~');
  const target = isObject(definitions) ? definitions[name] : undefined;
  return isObject(target) ? target : undefined;
}

/** Shallow merge for `allOf` and single-branch `anyOf`: properties and required are unioned. */
function merge(into: GeminiSchema, from: GeminiSchema): void {
  for (const [key, value] of Object.entries(from)) {
    if (key === 'properties' && isObject(value)) {
      into.properties = { ...(isObject(into.properties) ? into.properties : {}), ...value };
    } else if (key === 'required' && Array.isArray(value)) {
      into.required = [...new Set([...((into.required as string[] | undefined) ?? []), ...value])];
    } else if (into[key] === undefined) {
      into[key] = value;
    }
  }
}

function applyType(out: GeminiSchema, type: unknown): void {
  const types = (Array.isArray(type) ? type : [type]).filter((item) => typeof item === 'string');
  if (types.includes('null')) out.nullable = true;
  const rest = types.map((item) => (item as string).toUpperCase()).filter((item) => geminiTypes.has(item));
  if (rest.length === 1) out.type = rest[0];
  else if (rest.length > 1) out.anyOf = rest.map((item) => ({ type: item }));
}

function applyEnum(out: GeminiSchema, values: unknown[]): void {
  if (values.includes(null)) out.nullable = true;
  const kept = values.filter((value) => value !== null).map((value) => String(value));
  if (kept.length === 0) return;
  out.enum = kept;
  out.type ??= 'STRING';
}

function convert(schema: unknown, context: Context): GeminiSchema {
  if (!isObject(schema)) return {};
  if (typeof schema.$ref === 'string') {
    const ref = schema.$ref;
    const target = resolveRef(ref, context);
    // A cycle cannot be written in this subset: the recursive branch becomes an open object.
    if (!target || context.expanding.has(ref)) {
      return typeof schema.description === 'string' ? { description: schema.description } : {};
    }
    context.expanding.add(ref);
    const out = convert(target, context);
    context.expanding.delete(ref);
    if (typeof schema.description === 'string') out.description = schema.description;
    return out;
  }

  const out: GeminiSchema = {};
  if (schema.type !== undefined) applyType(out, schema.type);
  for (const keyword of copiedKeywords) {
    if (schema[keyword] !== undefined) out[keyword] = schema[keyword];
  }
  if (schema.const !== undefined) applyEnum(out, [schema.const]);
  else if (Array.isArray(schema.enum)) applyEnum(out, schema.enum);
  if (typeof schema.format === 'string' && formatsByType[out.type as string]?.includes(schema.format)) {
    out.format = schema.format;
  }

  if (isObject(schema.properties)) {
    const properties: Record<string, GeminiSchema> = {};
    for (const [name, value] of Object.entries(schema.properties)) properties[name] = convert(value, context);
    if (Object.keys(properties).length > 0) {
      out.properties = properties;
      if (Array.isArray(schema.required)) {
        const required = schema.required.filter(
          (name): name is string => typeof name === 'string' && name in properties,
        );
        if (required.length > 0) out.required = required;
      }
    }
  }
  if (isObject(schema.items)) out.items = convert(schema.items, context);
  else if (Array.isArray(schema.items) && schema.items.length > 0) {
    out.items = { anyOf: schema.items.map((item) => convert(item, context)) };
  }

  const branches = Array.isArray(schema.anyOf) ? schema.anyOf : schema.oneOf;
  if (Array.isArray(branches)) {
    const converted: GeminiSchema[] = [];
    for (const branch of branches) {
      // `anyOf: [X, {type: null}]` (an optional field) is the subset's `nullable`.
      if (isObject(branch) && branch.type === 'null') out.nullable = true;
      else converted.push(convert(branch, context));
    }
    if (converted.length === 1) merge(out, converted[0] as GeminiSchema);
    else if (converted.length > 1) out.anyOf = converted;
  }
  if (Array.isArray(schema.allOf)) {
    for (const member of schema.allOf) merge(out, convert(member, context));
  }
  return out;
}

/**
 * Returns the `parameters` of a function declaration, or `undefined` for a function without
 * parameters: Gemini rejects an OBJECT whose `properties` is empty.
 */
export function toGeminiParameters(
  parameters: Record<string, unknown> | undefined,
): GeminiSchema | undefined {
  if (!parameters) return undefined;
  const schema = convert(parameters, { root: parameters, expanding: new Set() });
  if (schema.type === 'OBJECT' && schema.properties === undefined) return undefined;
  return schema;
}

/**
 * Copies the OpenAI schemas our tests validate against, with everything they reference, out of the
 * official OpenAPI document into test/support/openai-schemas.json.
 *
 * Usage: npx tsx scripts/extract-openai-schemas.ts <path to openai-openapi.json>
 * The document is OpenAI's `openapi.json` from github.com/openai/openai-openapi; the commit is
 * recorded in the output.
 */
import { readFileSync, writeFileSync } from 'node:fs';

const roots = [
  'CreateChatCompletionRequest',
  'CreateChatCompletionResponse',
  'CreateChatCompletionStreamResponse',
  'ErrorResponse',
  'ListModelsResponse',
  'Model',
  'Response',
  'ResponseStreamEvent',
  'CreateResponse',
];

const source = process.argv[2];
if (!source) {
  process.stderr.write('usage: tsx scripts/extract-openai-schemas.ts <openai-openapi.json> [commit]\n');
  process.exit(2);
}
const document = JSON.parse(readFileSync(source, 'utf8')) as {
  components: { schemas: Record<string, unknown> };
};
const all = document.components.schemas;
const picked: Record<string, unknown> = {};
const queue = [...roots];
while (queue.length > 0) {
  const name = queue.pop() as string;
  if (picked[name] !== undefined) continue;
  const schema = all[name];
  if (schema === undefined) throw new Error(`schema ${name} not found`);
  picked[name] = schema;
  const text = JSON.stringify(schema);
  for (const match of text.matchAll(/"#\/components\/schemas\/([^"]+)"/g)) queue.push(match[1] as string);
}
/** OpenAPI 3.0's `nullable: true` (still used in places) as JSON Schema: `anyOf [schema, null]`. */
function withoutNullable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNullable);
  if (value === null || typeof value !== 'object') return value;
  const { nullable, ...rest } = value as Record<string, unknown>;
  const mapped = Object.fromEntries(Object.entries(rest).map(([key, item]) => [key, withoutNullable(item)]));
  return nullable === true ? { anyOf: [mapped, { type: 'null' }] } : mapped;
}

const sorted = Object.fromEntries(
  Object.keys(picked)
    .sort()
    .map((name) => [name, withoutNullable(picked[name])]),
);
writeFileSync(
  'test/support/openai-schemas.json',
  `${JSON.stringify({ source: 'github.com/openai/openai-openapi openapi.json', commit: process.argv[3] ?? 'f85dbe223d40e1a31cba812ab2d755c7e98a92a3', components: { schemas: sorted } })}\n`,
);
process.stdout.write(`${Object.keys(sorted).length} schemas\n`);

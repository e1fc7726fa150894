/**
 * Writes docs/errors.md from the error catalog. `npm run check` fails when the two differ
 * (test/errors/catalog-docs.test.ts), so run `npx tsx scripts/generate-error-docs.ts` after a change.
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { type CatalogEntry, catalog, wireCodeOf } from '../src/errors/catalog.js';

export function renderErrorDocs(): string {
  const rows = (Object.entries(catalog) as [keyof typeof catalog, CatalogEntry][])
    .sort(([a, entryA], [b, entryB]) => entryA.status - entryB.status || a.localeCompare(b))
    .map(([code, entry]) => {
      const wire = wireCodeOf[code] ?? code;
      const message = entry.message.replace(/\|/g, '\\|');
      return `| ${entry.status} | \`${entry.type}\` | \`${wire}\` | ${message} | ${entry.when} |`;
    });
  return `# Errors

Generated from \`src/errors/catalog.ts\` by \`scripts/generate-error-docs.ts\`; do not edit by hand.

Every error is JSON with all four keys present:

\`\`\`json
{"error": {"message": "No model found with id 'openai/gpt-9'.", "type": "not_found_error", "param": "model", "code": "model_not_found"}}
\`\`\`

\`param\` names the offending field (\`messages[2].content[0].image_url.url\`) or is \`null\`. \`{name}\`
placeholders below are filled in per request. A 401 carries \`WWW-Authenticate: Bearer\`; a 429 carries
\`Retry-After\`. After a stream's first byte, an error arrives in-band as
\`data: {"error": {...}}\` followed by \`data: [DONE]\` (chat) or as an \`error\` event followed by
\`response.failed\` (Responses).

| Status | Type | Code | Message | When |
|---|---|---|---|---|
${rows.join('\n')}
`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  writeFileSync(new URL('../docs/errors.md', import.meta.url), renderErrorDocs());
}

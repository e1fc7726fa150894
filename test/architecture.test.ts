import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layering of STYLE.md §1, checked on every file's imports. A folder may import folders of a
 * higher rank (to its right) and itself. Shared vocabulary (wire types, errors, config, clock, ids)
 * is the rightmost rank. The composition roots (app.ts, main.ts, cli/) may import anything.
 */
const rankOf: Record<string, number> = {
  http: 0,
  api: 1,
  auth: 2,
  limits: 2,
  billing: 3,
  routing: 3,
  providers: 4,
  upstream: 5,
  stream: 5,
  store: 6,
  telemetry: 6.5,
  'api/wire': 7,
  errors: 7,
  config: 7,
  'clock.ts': 7,
  'ids.ts': 7,
};
const roots = new Set(['app.ts', 'main.ts', 'cli']);
const srcDir = new URL('../src/', import.meta.url).pathname;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === '__fixtures__' ? [] : filesUnder(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

function areaOf(relativePath: string): string {
  if (relativePath.startsWith('api/wire/')) return 'api/wire';
  return (relativePath.split('/')[0] as string).replace(/\.js$/, '.ts');
}

/** Source text without comment lines, so prose about SSE or fetch does not count. */
function codeOnly(text: string): string {
  return text
    .split('\n')
    .filter((line) => !/^\s*(\/\/|\/\*|\*)/.test(line))
    .join('\n');
}

const sources = filesUnder(srcDir).map((path) => {
  const text = codeOnly(readFileSync(path, 'utf8'));
  const imports = [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)].map(
    (match) => match[1] as string,
  );
  return { path: relative(srcDir, path), text, imports };
});

function resolved(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  return relative(srcDir, join(srcDir, from, '..', specifier));
}

describe('architecture (STYLE.md §1)', () => {
  it('each layer imports only layers to its right', () => {
    const violations: string[] = [];
    for (const source of sources) {
      const area = areaOf(source.path);
      if (roots.has(area) || area === 'fake-upstream') continue;
      const rank = rankOf[area];
      expect(rank, `unranked area ${area}`).toBeDefined();
      for (const specifier of source.imports) {
        const target = resolved(source.path, specifier);
        if (!target) continue;
        const targetArea = areaOf(target);
        if (targetArea === area) continue;
        const targetRank = rankOf[targetArea];
        if (targetRank === undefined || targetRank <= (rank as number))
          violations.push(`${source.path} → ${target}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('only http/ imports the web framework, only upstream/ opens provider connections, only store/ uses Kysely', () => {
    for (const source of sources) {
      const area = areaOf(source.path);
      if (roots.has(area)) continue;
      if (source.imports.includes('fastify')) expect(area, source.path).toBe('http');
      if (source.imports.includes('undici')) expect(area, source.path).toBe('upstream');
      if (
        source.imports.some(
          (specifier) => specifier === 'kysely' || specifier === 'pg' || specifier === 'better-sqlite3',
        )
      ) {
        expect(area, source.path).toBe('store');
      }
      expect(
        /(?<![.\w]|private |async )fetch\(/.test(source.text) && area !== 'fake-upstream',
        `${source.path} uses fetch`,
      ).toBe(false);
    }
  });

  it('only config/ reads the environment', () => {
    for (const source of sources) {
      if (!source.text.includes('process.env')) continue;
      expect(['config', 'cli'], source.path).toContain(areaOf(source.path));
    }
  });

  it('providers only translate: no I/O, no logger, no clock, no other provider but the OpenAI-compatible base', () => {
    for (const source of sources.filter((item) => item.path.startsWith('providers/'))) {
      const ownFolder = source.path.split('/').length > 2 ? source.path.split('/')[1] : undefined;
      for (const specifier of source.imports) {
        const target = resolved(source.path, specifier) ?? specifier;
        expect(['undici', 'node:http', 'node:https', 'node:net', 'node:fs'], source.path).not.toContain(
          target,
        );
        expect(
          target.startsWith('store/') || target.startsWith('telemetry/') || target === 'clock.ts',
          `${source.path} → ${target}`,
        ).toBe(false);
        const [, otherProvider, rest] = target.match(/^providers\/([^/]+)\/(.+)$/) ?? [];
        if (ownFolder && otherProvider && rest && otherProvider !== ownFolder)
          expect(otherProvider, `${source.path} → ${target}`).toBe('openai-compatible');
      }
      expect(/['"`]data: |\[DONE\]/.test(source.text), `${source.path} writes SSE`).toBe(false);
    }
  });

  it('no file is called utils, helpers or common', () => {
    for (const source of sources)
      expect(source.path).not.toMatch(/(^|\/)(utils|helpers|misc|common)(\.ts|\/)/);
  });
});

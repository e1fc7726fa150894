import { createReadStream, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Where `vite build --config console/vite.config.ts` writes the console (from src/http or dist/http). */
export const defaultConsoleRootDir = fileURLToPath(new URL('../../dist/console/', import.meta.url));

export const consolePrefix = '/console';

export interface ConsoleRouteOptions {
  /** The built console: `index.html` and `assets/`. */
  rootDir: string;
}

/** True for the paths this plugin serves; the server lets them through without a key. */
export function isConsolePath(path: string): boolean {
  return path === consolePrefix || path.startsWith(`${consolePrefix}/`);
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The page may load and call only its own origin: the console works on a closed network, and an
 * injected script could neither fetch from nor send to anywhere else. Inline scripts and styles are
 * refused (the build emits none); `data:` images cover the favicon and images inside messages.
 */
const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Hashed file names (`assets/index-C50wlWrx.js`) never change content, so they are cached for a year. */
const immutableCache = 'public, max-age=31536000, immutable';

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * The file path below the root for a request path, or `undefined` when it is not a plain relative
 * path (`..`, `.`, empty segments, backslashes, NUL, bad percent-encoding): such requests get the
 * SPA page at most, never a file outside the root.
 */
function relativeFileOf(requestPath: string): string[] | undefined {
  const rest = requestPath.slice(consolePrefix.length).replace(/^\/+/, '');
  if (rest === '') return [];
  const segments: string[] = [];
  for (const raw of rest.split('/')) {
    if (raw === '') continue;
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (segment === '.' || segment === '..' || /[\\/\0]/.test(segment)) return undefined;
    segments.push(segment);
  }
  return segments;
}

async function regularFile(path: string): Promise<Stats | undefined> {
  try {
    const stats = await stat(path);
    return stats.isFile() ? stats : undefined;
  } catch {
    return undefined;
  }
}

function notFound(reply: FastifyReply, message: string): FastifyReply {
  return reply
    .code(404)
    .header('cache-control', 'no-store')
    .type('text/plain; charset=utf-8')
    .send(`${message}\n`);
}

/**
 * Serves the web console (docs/console.md) from its built files under `/console`:
 *
 * - files of the build with their content type; `assets/` (content-hashed) cached for a year,
 *   everything else revalidated (`no-cache` with an ETag, answered 304 when unchanged);
 * - any other path below `/console` answers `index.html`, so the console's own URLs
 *   (`/console/requests/chatcmpl-…`) survive a reload; a missing `assets/` file is a 404, never HTML;
 * - no key is needed: the files hold no data. The console sends its key with each API call.
 *
 * Streams files with `node:fs` rather than adding `@fastify/static`: one directory, GET and HEAD,
 * and a fallback page are a few dozen lines.
 */
export async function registerConsoleRoutes(
  app: FastifyInstance,
  options: ConsoleRouteOptions,
): Promise<void> {
  const root = resolve(options.rootDir);
  const indexPath = join(root, 'index.html');

  const serve = async (request: FastifyRequest, reply: FastifyReply) => {
    const segments = relativeFileOf(pathOf(request.url));
    let filePath = indexPath;
    let stats: Stats | undefined;
    if (segments !== undefined && segments.length > 0) {
      const candidate = join(root, ...segments);
      if (candidate.startsWith(`${root}${sep}`)) {
        stats = await regularFile(candidate);
        if (stats) filePath = candidate;
      }
      if (!stats && segments[0] === 'assets') return notFound(reply, 'No such console file.');
    }
    if (!stats) {
      stats = await regularFile(indexPath);
      if (!stats) return notFound(reply, 'The console is not built: run `npm run build`.');
    }

    const isAsset = filePath !== indexPath && filePath.startsWith(join(root, 'assets') + sep);
    const etag = `W/"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`;
    reply
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', isAsset ? immutableCache : 'no-cache')
      .header('etag', etag);
    if (filePath === indexPath) {
      reply
        .header('content-security-policy', contentSecurityPolicy)
        .header('referrer-policy', 'no-referrer')
        .header('x-frame-options', 'DENY');
    }
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    reply
      .type(contentTypes[extname(filePath).toLowerCase()] ?? 'application/octet-stream')
      .header('content-length', String(stats.size));
    if (request.method === 'HEAD') return reply.send();
    return reply.send(createReadStream(filePath));
  };

  app.get(consolePrefix, serve);
  app.get(`${consolePrefix}/*`, serve);
}

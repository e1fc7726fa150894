import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isConsolePath, registerConsoleRoutes } from '#src/http/console-routes.js';

let rootDir: string;
let app: FastifyInstance;
const indexHtml =
  '<!doctype html><title>console</title><script type="module" src="/console/assets/index-abc123.js"></script>';
const script = 'console.log("console");';

/** A stand-in build: the plugin only needs index.html and assets/. */
beforeAll(async () => {
  rootDir = mkdtempSync(join(tmpdir(), 'console-routes-'));
  mkdirSync(join(rootDir, 'assets'));
  writeFileSync(join(rootDir, 'index.html'), indexHtml);
  writeFileSync(join(rootDir, 'assets', 'index-abc123.js'), script);
  writeFileSync(join(rootDir, 'assets', 'index-abc123.css'), 'body{}');
  writeFileSync(join(rootDir, 'assets', 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(rootDir, '..', `${rootDir.split('/').pop()}-secret.txt`), 'outside');
  // The gateway's router options, so trailing and doubled slashes behave as they will there.
  app = Fastify({ routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true } });
  await app.register(registerConsoleRoutes, { rootDir });
  app.get('/v1/other', async () => ({ ok: true }));
  await app.ready();
});

afterAll(async () => {
  await app.close();
  rmSync(join(rootDir, '..', `${rootDir.split('/').pop()}-secret.txt`), { force: true });
  rmSync(rootDir, { recursive: true, force: true });
});

describe('console static files', () => {
  it('serves index.html at /console and /console/ with a no-cache, same-origin-only policy', async () => {
    for (const url of ['/console', '/console/']) {
      const response = await app.inject({ url });
      expect(response.statusCode, url).toBe(200);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(response.headers['cache-control']).toBe('no-cache');
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['referrer-policy']).toBe('no-referrer');
      const policy = String(response.headers['content-security-policy']);
      expect(policy).toContain("default-src 'self'");
      expect(policy).toContain("connect-src 'self'");
      expect(policy).toContain("script-src 'self'");
      expect(policy).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
      expect(response.body).toBe(indexHtml);
    }
  });

  it('serves hashed assets with their content type and a year-long immutable cache', async () => {
    const cases = [
      ['/console/assets/index-abc123.js', 'text/javascript; charset=utf-8', script],
      ['/console/assets/index-abc123.css', 'text/css; charset=utf-8', 'body{}'],
      ['/console/assets/logo.svg', 'image/svg+xml', '<svg xmlns="http://www.w3.org/2000/svg"/>'],
    ] as const;
    for (const [url, type, body] of cases) {
      const response = await app.inject({ url });
      expect(response.statusCode, url).toBe(200);
      expect(response.headers['content-type']).toBe(type);
      expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(response.headers['content-length']).toBe(String(Buffer.byteLength(body)));
      expect(response.headers['content-security-policy']).toBeUndefined();
      expect(response.body).toBe(body);
    }
  });

  it('answers index.html for the console’s own routes, so a reload keeps the page', async () => {
    for (const url of [
      '/console/requests',
      '/console/requests/chatcmpl-abc?tag=a&tag=b',
      '/console/traces/checkout.v1%2Fstep',
      '/console/containers/support-bot/',
    ]) {
      const response = await app.inject({ url });
      expect(response.statusCode, url).toBe(200);
      expect(response.headers['content-type'], url).toBe('text/html; charset=utf-8');
      expect(response.body).toBe(indexHtml);
    }
  });

  it('is a plain 404, never the HTML page, for a missing asset', async () => {
    const response = await app.inject({ url: '/console/assets/index-missing.js' });
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(response.body).not.toContain('<!doctype');
  });

  it('never serves a file outside its folder', async () => {
    const name = `${rootDir.split('/').pop()}-secret.txt`;
    for (const url of [
      `/console/../${name}`,
      `/console/%2e%2e/${name}`,
      `/console/assets/%2e%2e%2f%2e%2e%2f${name}`,
      `/console/assets/..%5c..%5c${name}`,
      '/console/%00',
      '/console/%E0%A4%A',
    ]) {
      const response = await app.inject({ url });
      expect(response.body, url).not.toContain('outside');
      // 400: the router itself refuses malformed percent-encoding before any handler runs.
      expect([200, 400, 404], url).toContain(response.statusCode);
      if (response.statusCode === 200) expect(response.body).toBe(indexHtml);
    }
  });

  it('answers HEAD with the headers only, and 304 to a matching If-None-Match', async () => {
    const head = await app.inject({ method: 'HEAD', url: '/console/assets/index-abc123.js' });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(head.body).toBe('');
    const first = await app.inject({ url: '/console/' });
    const etag = String(first.headers.etag);
    expect(etag).toMatch(/^W\/"[0-9a-f]+-[0-9a-f]+"$/);
    const second = await app.inject({ url: '/console/', headers: { 'if-none-match': etag } });
    expect(second.statusCode).toBe(304);
    expect(second.body).toBe('');
  });

  it('leaves other paths and methods to the rest of the server', async () => {
    expect((await app.inject({ url: '/v1/other' })).json()).toEqual({ ok: true });
    expect((await app.inject({ url: '/consoles' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'POST', url: '/console/requests' })).statusCode).toBe(404);
    expect(isConsolePath('/console')).toBe(true);
    expect(isConsolePath('/console/assets/x.js')).toBe(true);
    expect(isConsolePath('/consoles')).toBe(false);
    expect(isConsolePath('/v1/console')).toBe(false);
  });

  it('says the console is not built when the folder has no index.html', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'console-empty-'));
    const bare = Fastify();
    await bare.register(registerConsoleRoutes, { rootDir: empty });
    const response = await bare.inject({ url: '/console/requests' });
    expect(response.statusCode).toBe(404);
    expect(response.body).toContain('npm run build');
    await bare.close();
    rmSync(empty, { recursive: true, force: true });
  });
});

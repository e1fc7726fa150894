import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { type BrowserContext, chromium } from 'playwright-core';
import { build } from 'vite';
import { GatewayError } from '#src/errors/gateway-error.js';
import { registerAdminRoutes } from '#src/http/admin-routes.js';
import { registerConsoleRoutes } from '#src/http/console-routes.js';
import { toGatewayError } from '#src/http/error-reply.js';
import { registerPlatformRoutes } from '#src/http/platform-routes.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { createTenant, type Tenant } from '../support/tenants.js';

export const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));
export const artifactsDir = join(repositoryRoot, 'test-artifacts', 'console');
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const adminToken = 'console-admin-token-0123456789abcdef';

/** Builds the console from source into a fresh folder, as `vite build` does for dist/console. */
export async function buildConsole(): Promise<string> {
  const outDir = mkdtempSync(join(tmpdir(), 'maniac-console-'));
  await build({
    configFile: join(repositoryRoot, 'console', 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  });
  return outDir;
}

export interface ConsoleHarness {
  /** The origin the browser uses: console files and API on one host and port. */
  origin: string;
  gateway: TestGateway;
  tenant: Tenant;
  /** Which API families the gateway served itself (the rest were mounted here from the same plugins). */
  wiring: { platform: boolean; admin: boolean };
  close(): Promise<void>;
}

async function isServedBy(gateway: TestGateway, path: string, authorization: string): Promise<boolean> {
  const response = await fetch(`${gateway.url}${path}`, { headers: { authorization } });
  const body = (await response.json().catch(() => ({}))) as { error?: { code?: string } };
  return !(response.status === 404 && body.error?.code === 'unknown_route');
}

const forwardedRequestHeaders = ['authorization', 'content-type', 'accept', 'x-request-id', 'traceparent'];
const droppedResponseHeaders = new Set(['content-length', 'connection', 'keep-alive', 'transfer-encoding']);

/** Passes one call through to the gateway, streaming the answer (SSE included) as it comes. */
async function proxy(gateway: TestGateway, request: FastifyRequest, reply: FastifyReply) {
  const headers: Record<string, string> = {};
  for (const name of forwardedRequestHeaders) {
    const value = request.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  const abort = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) abort.abort();
  });
  const hasBody = request.body !== undefined && request.method !== 'GET' && request.method !== 'HEAD';
  const response = await fetch(`${gateway.url}${request.url}`, {
    method: request.method,
    headers,
    signal: abort.signal,
    ...(hasBody ? { body: Buffer.isBuffer(request.body) ? request.body : JSON.stringify(request.body) } : {}),
  });
  reply.code(response.status);
  response.headers.forEach((value, name) => {
    if (!droppedResponseHeaders.has(name)) reply.header(name, value);
  });
  if (!response.body) return reply.send();
  return reply.send(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream));
}

/**
 * The console as it will run once wired into the gateway (same origin for files and API):
 * a Fastify app serving the freshly built console through `registerConsoleRoutes`, passing `/v1`
 * and `/admin` calls to a real test gateway. Platform and admin routes the gateway does not serve
 * yet are mounted here from their own plugins (`registerPlatformRoutes`, `registerAdminRoutes`) over
 * the gateway's store, key cache and telemetry, so the console talks to the real implementations.
 */
export async function startConsoleHarness(rootDir: string): Promise<ConsoleHarness> {
  const gateway = await startTestGateway({ env: { MANIAC_ADMIN_TOKEN: adminToken } });
  const tenant = await createTenant(gateway.app.store, { name: `console-org-${Date.now()}` });
  const wiring = {
    platform: await isServedBy(gateway, '/v1/containers', gateway.headers.authorization as string),
    admin: await isServedBy(gateway, '/admin/v1/organizations', `Bearer ${adminToken}`),
  };

  const front: FastifyInstance = Fastify({
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 1000 },
  });
  front.decorateRequest('principal', undefined);
  front.decorateRequest('record', undefined);
  front.setErrorHandler((error, _request, reply) => {
    const { error: gatewayError } = toGatewayError(error, 1024 * 1024);
    if (gatewayError.status === 401) reply.header('www-authenticate', 'Bearer');
    reply.code(gatewayError.status).type('application/json').send(gatewayError.toEnvelope());
  });
  front.setNotFoundHandler((request) => {
    throw new GatewayError('unknown_route', { method: request.method, path: request.url });
  });

  await front.register(registerConsoleRoutes, { rootDir });

  const app = gateway.app;
  if (!wiring.platform) {
    await front.register(
      async (scope) => {
        scope.addHook('onRequest', async (request) => {
          request.principal = await app.auth.authenticate(request.headers.authorization, request.headers);
        });
        registerPlatformRoutes(scope, {
          store: app.store,
          catalog: app.catalog,
          clock: { now: () => Date.now(), monotonic: () => performance.now() },
          containers: { defaultModel: gateway.config.containers.defaultModel },
          flush: () => app.flushTelemetry(),
          onContainerChanged: (projectId, label) => app.containers.invalidate(projectId, label),
        });
      },
      { prefix: '/v1' },
    );
  }
  if (!wiring.admin) {
    await front.register(registerAdminRoutes, {
      adminToken,
      store: app.store,
      revoke: (id: string) => app.auth.propagateRevocation(id),
    });
  } else {
    front.all('/admin/*', (request, reply) => proxy(gateway, request, reply));
  }
  front.all('/v1/*', (request, reply) => proxy(gateway, request, reply));

  const origin = await front.listen({ host: '127.0.0.1', port: 0 });
  return {
    origin,
    gateway,
    tenant,
    wiring,
    async close() {
      await front.close();
      await gateway.close();
    },
  };
}

/** Debian's Chromium, headless, with a fresh profile and nothing that phones home. */
export async function launchChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  if (!existsSync(chromiumPath)) {
    throw new Error(`Chromium not found at ${chromiumPath}: install it with 'apt-get install -y chromium'.`);
  }
  const userDataDir = mkdtempSync(join(tmpdir(), 'maniac-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

export function screenshotPath(name: string): string {
  mkdirSync(artifactsDir, { recursive: true });
  return join(artifactsDir, `${name}.png`);
}

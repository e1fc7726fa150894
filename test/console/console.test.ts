import { rmSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  adminToken,
  buildConsole,
  type ConsoleHarness,
  launchChromium,
  screenshotPath,
  startConsoleHarness,
} from './console-harness.js';

/**
 * The console end to end in Debian's Chromium: one signed-in session walks every page as a person
 * would, against a real gateway, and leaves a screenshot of each page in test-artifacts/console/.
 * The tests share the browser and run in order.
 */
const waitMs = 15_000;

let rootDir: string;
let harness: ConsoleHarness;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let page: Page;
const requestedUrls: string[] = [];
const pageErrors: string[] = [];
const ids: Record<string, string> = {};

// biome-ignore lint/suspicious/noExplicitAny: API answers are read by path in assertions.
type Json = any;

/** A call made straight to the gateway's API with the organisation key, as an application would. */
async function callApi(
  path: string,
  body?: unknown,
  key = harness.tenant.key,
): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${harness.gateway.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json() };
}

async function chat(body: Record<string, unknown>): Promise<string> {
  const reply = await callApi('/v1/chat/completions', body);
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body.id as string;
}

/** Evaluates an expression in the page (a string: the test itself is not compiled with DOM types). */
async function browserValue<T = unknown>(expression: string): Promise<T> {
  return (await page.evaluate(expression)) as T;
}

async function shoot(name: string) {
  await page.screenshot({ path: screenshotPath(name), fullPage: true });
}

async function heading(text: string) {
  await page.getByRole('heading', { level: 1, name: text }).waitFor({ timeout: waitMs });
}

async function goTo(section: string) {
  await page
    .getByRole('navigation', { name: 'Console' })
    .getByRole('link', { name: section, exact: true })
    .click();
}

beforeAll(async () => {
  rootDir = await buildConsole();
  harness = await startConsoleHarness(rootDir);
  browser = await launchChromium();
  page = browser.context.pages()[0] ?? (await browser.context.newPage());
  page.on('request', (request) => requestedUrls.push(request.url()));
  page.on('pageerror', (error) => pageErrors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(`console: ${message.text()}`);
  });
}, 120_000);

// A failed step leaves a picture of what the browser showed.
afterEach(async (context) => {
  if (context.task.result?.state === 'fail' && page) {
    const name = context.task.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
    await page.screenshot({ path: screenshotPath(`failed-${name}`), fullPage: true }).catch(() => undefined);
  }
});

afterAll(async () => {
  await browser?.close();
  await harness?.close();
  if (rootDir) rmSync(rootDir, { recursive: true, force: true });
});

describe('web console in Chromium', { timeout: 60_000 }, () => {
  it('signs in with an organisation key using only the keyboard', async () => {
    await page.goto(`${harness.origin}/console/`);
    await heading('Sign in');
    expect(new URL(page.url()).pathname).toBe('/console/login');
    await shoot('login');

    // The first Tab reaches the skip link, then the page's controls in order.
    await page.keyboard.press('Tab');
    expect(await page.locator(':focus').textContent()).toBe('Skip to content');
    let focusedId = '';
    for (let presses = 0; presses < 6 && focusedId !== 'sign-in-token'; presses++) {
      await page.keyboard.press('Tab');
      focusedId = (await page.locator(':focus').getAttribute('id')) ?? '';
    }
    expect(focusedId).toBe('sign-in-token');
    await page.keyboard.type(harness.tenant.key);
    await page.keyboard.press('Enter');
    await heading('Requests');
    expect(await browserValue("sessionStorage.getItem('maniac-console.org-key')")).toBe(harness.tenant.key);
  });

  it('shows a request made through the API as it arrives, and opens it', async () => {
    ids.alpha = await chat({
      model: 'local/echo',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Hello from the end-to-end test' },
      ],
      tags: ['e2e', 'alpha'],
      trace: { id: 'trace-console-e2e', name: 'checkout flow' },
    });
    const row = page.locator(`tr[data-request-id="${ids.alpha}"]`);
    await row.waitFor({ timeout: waitMs });
    await expect(row.textContent()).resolves.toContain('local/echo');
    await expect(row.textContent()).resolves.toContain('alpha');
    await shoot('requests');

    await row.getByRole('link').click();
    await heading(ids.alpha);
    const conversation = page.getByRole('list', { name: 'Conversation' });
    await conversation
      .getByText('Hello from the end-to-end test', { exact: true })
      .waitFor({ timeout: waitMs });
    await conversation.getByText('Echo: Hello from the end-to-end test').waitFor({ timeout: waitMs });
    await conversation.getByText('You are terse.').waitFor();
    await page.getByText('Request JSON', { exact: true }).click();
    const requestJson = await page
      .getByRole('region', { name: 'Raw JSON' })
      .locator('pre')
      .first()
      .textContent();
    expect(JSON.parse(requestJson ?? '')).toMatchObject({ model: 'local/echo' });
    await page.getByText('Response JSON', { exact: true }).click();
    await page.getByRole('region', { name: 'Timing' }).waitFor();
    await shoot('request');
  });

  it('shows tool calls and their results as a conversation', async () => {
    ids.tools = await chat({
      model: 'local/tools',
      messages: [
        { role: 'user', content: 'Weather in Paris and Tokyo?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":1}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'lookup result 42' },
      ],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
      tags: ['e2e', 'tools'],
      trace: { id: 'trace-console-e2e', name: 'checkout flow' },
    });
    await page.goto(`${harness.origin}/console/requests/${ids.tools}`);
    await heading(ids.tools);
    const toolCalls = page.getByRole('list', { name: 'Tool calls' });
    await toolCalls.first().waitFor({ timeout: waitMs });
    expect(await toolCalls.last().textContent()).toContain('get_weather');
    expect(await toolCalls.last().textContent()).toContain('Tokyo');
    await page.getByRole('list', { name: 'Conversation' }).getByText('lookup result 42').waitFor();
    await shoot('request-tool-calls');
  });

  it('filters the request list by tag', async () => {
    ids.beta = await chat({
      model: 'local/echo',
      messages: [{ role: 'user', content: 'second request' }],
      tags: ['e2e', 'beta'],
    });
    await goTo('Requests');
    await heading('Requests');
    await page.locator(`tr[data-request-id="${ids.beta}"]`).waitFor({ timeout: waitMs });
    await page.getByRole('textbox', { name: 'Tags' }).fill('beta');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.locator(`tr[data-request-id="${ids.alpha}"]`).waitFor({ state: 'detached', timeout: waitMs });
    await page.locator(`tr[data-request-id="${ids.beta}"]`).waitFor();
    expect(await page.locator('tbody tr').count()).toBe(1);
    expect(new URL(page.url()).searchParams.getAll('tag')).toEqual(['beta']);
    await shoot('requests-filtered');

    // Filters live in the URL: a reload keeps them.
    await page.reload();
    await page.locator(`tr[data-request-id="${ids.beta}"]`).waitFor({ timeout: waitMs });
    expect(await page.getByRole('textbox', { name: 'Tags' }).inputValue()).toBe('beta');
    expect(await page.locator('tbody tr').count()).toBe(1);
  });

  it('shows a trace’s requests in order on a timeline', async () => {
    await goTo('Traces');
    await heading('Traces');
    await page.getByRole('link', { name: 'checkout flow' }).click();
    await heading('checkout flow');
    const timeline = page.getByRole('list', { name: /^Timeline of 2 requests over .+, 0 failed$/ });
    await timeline.waitFor({ timeout: waitMs });
    const bars = timeline.getByRole('listitem');
    expect(await bars.count()).toBe(2);
    expect(await bars.nth(0).textContent()).toMatch(/^local\/echo.*starting at \+0 ms, status 200$/);
    expect(await bars.nth(1).textContent()).toMatch(/^local\/tools.*status 200$/);
    // Each bar starts where its request did: the second one to the right of the first.
    const [first, second] = await Promise.all(
      [0, 1].map((index) => bars.nth(index).locator('.timeline-bar').boundingBox()),
    );
    expect(second?.x).toBeGreaterThan((first?.x ?? 0) + 1);
    const rows = page.getByRole('region', { name: 'Timeline' }).locator('tbody tr');
    expect(await rows.count()).toBe(2);
    expect(await rows.nth(0).textContent()).toContain(ids.alpha);
    expect(await rows.nth(1).textContent()).toContain(ids.tools);
    await shoot('trace');
    await goTo('Traces');
    await page.getByRole('link', { name: 'checkout flow' }).waitFor();
    await shoot('traces');
  });

  it('creates a container, edits its prompt and model, and shows its traffic', async () => {
    await goTo('Containers');
    await heading('Containers');
    await page.getByLabel('Label').fill('support-bot');
    await page.getByLabel('Model', { exact: true }).selectOption('local/echo');
    await page.getByLabel('System prompt').fill('You answer support questions.');
    await page.getByRole('button', { name: 'Create container' }).click();
    await heading('support-bot');

    await page.getByLabel('System prompt').fill('You answer support questions briefly.');
    await page.getByLabel('Model', { exact: true }).selectOption('local/text');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Saved.').waitFor({ timeout: waitMs });
    const stored = await callApi('/v1/containers/support-bot');
    expect(stored.body).toMatchObject({
      model: 'local/text',
      system_prompt: 'You answer support questions briefly.',
    });

    await page.getByLabel('Model', { exact: true }).selectOption('local/echo');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Saved.').waitFor({ timeout: waitMs });
    ids.container = await chat({
      model: 'maniac:support-bot',
      messages: [{ role: 'user', content: 'my order?' }],
    });
    await page.reload();
    await heading('support-bot');
    await page.locator(`tr[data-request-id="${ids.container}"]`).waitFor({ timeout: waitMs });
    await page.getByRole('figure').filter({ hasText: 'Requests per day' }).waitFor();
    await shoot('container');
    await goTo('Containers');
    await page.getByRole('link', { name: 'support-bot' }).waitFor({ timeout: waitMs });
    await shoot('containers');
  });

  it('charts usage per day by model with the error rate', async () => {
    await goTo('Usage');
    await heading('Usage');
    await page
      .getByRole('img', { name: /^Requests per day by model: \d+ bars, total [1-9]/ })
      .waitFor({ timeout: waitMs });
    for (const title of ['Tokens per day', 'Cost per day', 'Error rate per day']) {
      await page.getByRole('img', { name: new RegExp(`^${title}`) }).waitFor();
    }
    const byModel = page.getByRole('table', { name: 'By model' });
    expect(await byModel.textContent()).toContain('local/echo');
    expect(await byModel.textContent()).toContain('local/tools');
    await page.getByRole('table', { name: 'By key' }).waitFor();
    await shoot('usage');
  });

  it('sends a chat request from the playground and streams the answer', async () => {
    const before = harness.gateway.fake.requests.length;
    await goTo('Playground');
    await heading('Playground');
    await page.getByLabel('Model').selectOption('local/echo');
    await page.getByLabel('Message').fill('Hello from the playground');
    await page.getByRole('button', { name: 'Send' }).click();
    const conversation = page.getByRole('region', { name: 'Conversation' });
    await conversation.getByText('Echo: Hello from the playground').waitFor({ timeout: waitMs });
    await conversation.getByText('Answer complete: stop.').waitFor({ state: 'attached', timeout: waitMs });
    const upstream = harness.gateway.fake.requests.slice(before);
    expect(upstream.map((request) => request.body.stream)).toEqual([true]);
    const requestLink = conversation.getByRole('link', { name: /^chatcmpl-/ });
    const id = (await requestLink.textContent()) ?? '';
    await shoot('playground');

    await requestLink.click();
    await heading(id);
    await page
      .getByRole('list', { name: 'Conversation' })
      .getByText('Hello from the playground', { exact: true })
      .waitFor({ timeout: waitMs });
    expect(await page.getByRole('list', { name: 'Tags' }).first().textContent()).toContain('playground');
  });

  it('as admin, creates a key shown once and revokes it', async () => {
    await page.getByRole('link', { name: 'Add sign-in' }).click();
    await heading('Sign in');
    await page.getByLabel('Organisation key or admin token').fill(adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await heading('Keys');

    const form = page.getByRole('form', { name: 'Create a key' });
    await form.getByLabel('Organisation').selectOption(harness.tenant.orgId, { timeout: waitMs });
    await form.getByLabel('Name').fill('console-e2e-key');
    await form.getByLabel('Requests per window').fill('120');
    await form.getByRole('button', { name: 'Create key' }).click();
    const secretField = page.getByLabel('New key');
    await secretField.waitFor({ timeout: waitMs });
    const secret = await secretField.inputValue();
    expect(secret).toMatch(/^mk_live_[A-Za-z0-9]{32}$/);
    expect((await callApi('/v1/models', undefined, secret)).status).toBe(200);
    await shoot('keys-created');
    await page.getByRole('button', { name: 'Done, I saved it' }).click();
    await secretField.waitFor({ state: 'detached' });
    expect(await page.content()).not.toContain(secret);

    const row = page.locator('tbody tr', { hasText: 'console-e2e-key' });
    await row.waitFor({ timeout: waitMs });
    expect(await row.textContent()).toContain('active');
    await row.getByRole('button', { name: 'Revoke console-e2e-key' }).click();
    await row.getByRole('button', { name: 'Confirm revoke console-e2e-key' }).click();
    await row.getByText('revoked', { exact: true }).waitFor({ timeout: waitMs });
    expect((await callApi('/v1/models', undefined, secret)).status).toBe(401);
    await shoot('keys');
  });

  it('as admin, creates an organisation, adds credits and sets a budget', async () => {
    await goTo('Organisations');
    await heading('Organisations');
    await page.getByLabel('Name').fill('console-e2e-org');
    await page.getByLabel('Requests per window').fill('600');
    await page.getByRole('button', { name: 'Create organisation' }).click();
    await heading('console-e2e-org');

    await page.getByLabel('Amount (USD)').fill('25');
    await page.getByLabel('Note').fill('e2e invoice');
    await page.getByRole('button', { name: 'Add credits' }).click();
    const credits = page.getByRole('region', { name: 'Credits' });
    await credits.getByText('$25.00').first().waitFor({ timeout: waitMs });

    await page.getByLabel('Period').selectOption('month');
    await page.getByLabel('Limit (USD)').fill('100');
    await page.getByRole('button', { name: 'Set budget' }).click();
    await page.getByRole('region', { name: 'Budgets' }).getByText('$100.00').waitFor({ timeout: waitMs });
    await shoot('organization');
    await goTo('Organisations');
    await page.getByRole('link', { name: 'console-e2e-org' }).waitFor({ timeout: waitMs });
    await shoot('organizations');
  });

  it('is readable at phone width: no sideways scrolling, every page captured', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const pages: [string, string][] = [
      ['requests', '/console/requests'],
      ['request', `/console/requests/${ids.alpha}`],
      ['traces', '/console/traces'],
      ['trace', '/console/traces/trace-console-e2e'],
      ['containers', '/console/containers'],
      ['container', '/console/containers/support-bot'],
      ['usage', '/console/usage'],
      ['playground', '/console/playground'],
      ['keys', '/console/keys'],
      ['organizations', '/console/organizations'],
    ];
    for (const [name, path] of pages) {
      await page.goto(`${harness.origin}${path}`);
      await page.locator('main h1').waitFor({ timeout: waitMs });
      await page.getByText('Loading…').first().waitFor({ state: 'detached', timeout: waitMs });
      const width = await browserValue<number>('document.documentElement.scrollWidth');
      expect(width, `${path} is ${width}px wide`).toBeLessThanOrEqual(390);
      // Every form control is labelled, so it is announced and reachable by its name.
      const unlabelled = await browserValue<string[]>(
        `[...document.querySelectorAll('input, select, textarea')]
          .filter((control) => control.labels.length === 0 && !control.getAttribute('aria-label'))
          .map((control) => control.outerHTML)`,
      );
      expect(unlabelled, path).toEqual([]);
      await shoot(`${name}-phone`);
    }
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  it('loaded nothing from outside its origin, put no secret in a URL and logged no error', async () => {
    const origin = new URL(harness.origin).origin;
    const foreign = requestedUrls.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith('data:'));
    expect(foreign).toEqual([]);
    const leaking = requestedUrls.filter(
      (url) => url.includes(harness.tenant.key) || url.includes(adminToken),
    );
    expect(leaking).toEqual([]);
    expect(pageErrors.filter((line) => !/status of 40[14]/.test(line))).toEqual([]);
    expect(harness.gateway.logLines.filter((line) => line.includes(harness.tenant.key))).toEqual([]);
  });

  it('sends the user back to sign in when the key stops working', async () => {
    await page.goto(`${harness.origin}/console/requests`);
    await heading('Requests');
    await browserValue(
      "sessionStorage.setItem('maniac-console.org-key', 'mk_live_not_a_real_key_000000000000')",
    );
    await page.reload();
    await heading('Organisation key needed');
    expect(await browserValue("sessionStorage.getItem('maniac-console.org-key')")).toBeNull();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await heading('Sign in');
    expect(await browserValue('sessionStorage.length')).toBe(0);
  });
});

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as admin from '#src/api/admin.js';
import { hashApiKey } from '#src/auth/api-key.js';
import type { Store } from '#src/store/repositories.js';
import { FakeClock } from '../limits/fake-clock.js';
import { dialects, type TestDatabase } from '../store/store-dialects.js';

const startMs = Date.UTC(2030, 0, 15, 12, 0, 0);
let counter = 0;

for (const dialect of dialects) {
  describe(`admin handlers on ${dialect.name}`, () => {
    const clock = new FakeClock(startMs);
    let database: TestDatabase;
    let store: Store;
    let revoked: string[];
    let billingChanged: string[];
    let context: admin.AdminContext;

    beforeAll(async () => {
      database = await dialect.createDatabase();
      store = await database.open({ clock });
    });
    afterAll(async () => {
      await store.close();
      await database.drop();
    });
    beforeEach(() => {
      clock.set(startMs);
      revoked = [];
      billingChanged = [];
      context = {
        store,
        clock,
        revoke: async (id) => {
          revoked.push(id);
        },
        onBillingChanged: (orgId) => billingChanged.push(orgId),
      };
    });

    const uniqueName = (base: string) => `${base}-${++counter}`;
    const newOrg = (name = uniqueName('acme')) => admin.createOrganization(context, { name });
    const rejection = (fields: Record<string, unknown>) => expect.objectContaining(fields);
    const notFound = (id: string) =>
      rejection({ status: 404, type: 'not_found_error', message: expect.stringContaining(id) });

    describe('organizations and projects', () => {
      it('creates an organization with its default project, found by id or name', async () => {
        const org = await admin.createOrganization(context, { name: 'globex', rate_limit: 100 });
        expect(org).toMatchObject({
          object: 'organization',
          name: 'globex',
          disabled: false,
          rate_limit: 100,
          token_rate_limit: null,
          created_at: startMs / 1000,
          default_project: { object: 'project', org_id: org.id, name: 'default' },
        });
        expect(org.id).toMatch(/^org_[0-9A-Za-z]{24}$/);
        expect(await admin.getOrganization(context, 'globex')).toEqual(
          await admin.getOrganization(context, org.id),
        );
        const listed = await admin.listOrganizations(context);
        expect(listed.object).toBe('list');
        expect(listed.data.map((item) => item.id)).toContain(org.id);
      });

      it('rejects bad names, reserved names and a taken name with the catalog codes', async () => {
        const taken = await newOrg();
        const cases: [unknown, Record<string, unknown>][] = [
          [{}, { code: 'missing_required_parameter', param: 'name' }],
          [{ name: 7 }, { code: 'invalid_type', param: 'name' }],
          [{ name: 'has space' }, { code: 'invalid_value', param: 'name' }],
          [{ name: 'org_lookalike' }, { code: 'invalid_value', param: 'name' }],
          [{ name: 'internal' }, { code: 'invalid_value', param: 'name' }],
          [{ name: taken.name }, { code: 'invalid_value', param: 'name' }],
          [
            { name: 'fine', rate_limit: 0 },
            { code: 'invalid_value', param: 'rate_limit' },
          ],
          [
            { name: 'fine', rate_limit: '10' },
            { code: 'invalid_type', param: 'rate_limit' },
          ],
          [['name'], { code: 'invalid_type', param: 'body' }],
        ];
        for (const [input, expected] of cases) {
          await expect(admin.createOrganization(context, input), JSON.stringify(input)).rejects.toEqual(
            rejection({ status: 400, ...expected }),
          );
        }
      });

      it('answers 404 for an unknown organization', async () => {
        await expect(admin.getOrganization(context, 'nobody')).rejects.toEqual(notFound('nobody'));
        await expect(admin.listProjects(context, 'org_missing')).rejects.toEqual(notFound('org_missing'));
        await expect(admin.disableOrganization(context, 'nobody')).rejects.toEqual(notFound('nobody'));
        expect(revoked).toEqual([]);
      });

      it('disables and enables an organization, announcing each change to the key caches', async () => {
        const org = await newOrg();
        expect(await admin.disableOrganization(context, org.name)).toMatchObject({
          id: org.id,
          disabled: true,
        });
        expect((await store.organizations.findByIdOrName(org.id))?.disabled).toBe(true);
        expect(await admin.enableOrganization(context, org.id)).toMatchObject({ disabled: false });
        expect(revoked).toEqual([org.id, org.id]);
      });

      it('creates and lists projects; a name is unique within the organization', async () => {
        const org = await newOrg();
        const project = await admin.createProject(context, org.name, { name: 'search' });
        expect(project).toMatchObject({ object: 'project', org_id: org.id, name: 'search' });
        await expect(admin.createProject(context, org.id, { name: 'search' })).rejects.toEqual(
          rejection({ status: 400, code: 'invalid_value', param: 'name' }),
        );
        const projects = await admin.listProjects(context, org.id);
        expect(projects.data.map((item) => item.name)).toEqual(['default', 'search']);
        await expect(admin.createProject(context, 'nobody', { name: 'x' })).rejects.toEqual(
          notFound('nobody'),
        );
      });
    });

    describe('keys', () => {
      it('creates a key once: mk_live_ + 32 base62, stored only as its SHA-256, default project for an org', async () => {
        const org = await newOrg();
        const created = await admin.createKey(context, { org: org.name, name: 'ci', rate_limit: 30 });
        expect(created.key).toMatch(/^mk_live_[0-9A-Za-z]{32}$/);
        expect(created).toMatchObject({
          object: 'api_key',
          org_id: org.id,
          project_id: org.default_project.id,
          name: 'ci',
          prefix: created.key.slice(0, 12),
          status: 'active',
          rate_limit: 30,
          expires_at: null,
        });
        const stored = await store.apiKeys.findByHash(hashApiKey(created.key));
        expect(stored?.id).toBe(created.id);

        const listed = await admin.listKeys(context, { org: org.id });
        expect(listed.data).toHaveLength(1);
        const { key: _secret, ...view } = created;
        expect(listed.data[0]).toEqual(view);
        const text = JSON.stringify(await admin.listKeys(context));
        expect(text).not.toContain(created.key);
        expect(text).not.toContain(hashApiKey(created.key));
        expect(text).not.toContain('hash');
      });

      it('creates a key in a named project, with an expiry given as ISO 8601 or Unix seconds', async () => {
        const org = await newOrg();
        const project = await admin.createProject(context, org.id, { name: 'batch' });
        const iso = await admin.createKey(context, { project: project.id, expires_at: '2030-02-01' });
        expect(iso).toMatchObject({ org_id: org.id, project_id: project.id, name: 'default' });
        expect(iso.expires_at).toBe(Date.UTC(2030, 1, 1) / 1000);
        const unix = await admin.createKey(context, { org: org.id, expires_at: startMs / 1000 + 60 });
        expect(unix.expires_at).toBe(startMs / 1000 + 60);
        clock.advance(60_000);
        expect(
          (await admin.listKeys(context, { org: org.id })).data.find((key) => key.id === unix.id)?.status,
        ).toBe('expired');
      });

      it('rejects bad key input and unknown owners', async () => {
        const org = await newOrg();
        const other = await newOrg();
        const cases: [unknown, Record<string, unknown>][] = [
          [{}, { code: 'missing_required_parameter', param: 'org' }],
          [{ org: 5 }, { code: 'invalid_type', param: 'org' }],
          [
            { org: org.id, expires_at: '2020-01-01' },
            { code: 'invalid_value', param: 'expires_at' },
          ],
          [
            { org: org.id, expires_at: '2030-02-31' },
            { code: 'invalid_value', param: 'expires_at' },
          ],
          [
            { org: org.id, expires_at: '2030-02-01T10:00' },
            { code: 'invalid_value', param: 'expires_at' },
          ],
          [
            { org: org.id, expires_at: true },
            { code: 'invalid_type', param: 'expires_at' },
          ],
          [
            { org: org.id, token_rate_limit: 1.5 },
            { code: 'invalid_type', param: 'token_rate_limit' },
          ],
          [
            { org: org.id, name: 'x'.repeat(201) },
            { code: 'invalid_value', param: 'name' },
          ],
        ];
        for (const [input, expected] of cases) {
          await expect(admin.createKey(context, input), JSON.stringify(input)).rejects.toEqual(
            rejection({ status: 400, ...expected }),
          );
        }
        await expect(admin.createKey(context, { org: 'nobody' })).rejects.toEqual(notFound('nobody'));
        await expect(admin.createKey(context, { project: 'proj_missing' })).rejects.toEqual(
          notFound('proj_missing'),
        );
        await expect(
          admin.createKey(context, { org: other.id, project: org.default_project.id }),
        ).rejects.toEqual(notFound(org.default_project.id));
        expect((await admin.listKeys(context, { org: org.id })).data).toEqual([]);
      });

      it('revokes and disables keys, announcing each id; unknown ids are 404 and announce nothing', async () => {
        const org = await newOrg();
        const first = await admin.createKey(context, { org: org.id });
        const second = await admin.createKey(context, { org: org.id });
        const revokedView = await admin.revokeKey(context, first.id);
        expect(revokedView).toMatchObject({ id: first.id, status: 'revoked', revoked_at: startMs / 1000 });
        expect(revokedView).not.toHaveProperty('key');
        clock.advance(5_000);
        expect((await admin.revokeKey(context, first.id)).revoked_at).toBe(startMs / 1000);
        expect(await admin.disableKey(context, second.id)).toMatchObject({ status: 'disabled' });
        expect(revoked).toEqual([first.id, first.id, second.id]);
        await expect(admin.revokeKey(context, 'key_missing')).rejects.toEqual(notFound('key_missing'));
        await expect(admin.disableKey(context, 'key_missing')).rejects.toEqual(notFound('key_missing'));
        expect(revoked).toHaveLength(3);
      });
    });

    describe('credits and budgets', () => {
      it('adds credits in USD with micro-dollar precision and reports the balance', async () => {
        const org = await newOrg();
        expect(await admin.getBalance(context, org.name)).toEqual({
          object: 'balance',
          org_id: org.id,
          configured: false,
          balance_usd: 0,
          reserved_usd: 0,
          available_usd: 0,
        });
        await admin.addCredits(context, org.id, { amount_usd: 0.1 });
        const credit = await admin.addCredits(context, org.name, { amount_usd: 0.2, note: 'top-up' });
        expect(credit).toMatchObject({
          amount_usd: 0.2,
          balance_usd: 0.3,
          available_usd: 0.3,
          configured: true,
        });
        const correction = await admin.addCredits(context, org.id, { amount_usd: -0.000001 });
        expect(correction.balance_usd).toBe(0.299999);
        expect((await store.billing.getBalance(org.id))?.balanceMicros).toBe(299_999);
      });

      it('rejects bad amounts and unknown organizations', async () => {
        const org = await newOrg();
        const cases: [unknown, Record<string, unknown>][] = [
          [{}, { code: 'missing_required_parameter', param: 'amount_usd' }],
          [{ amount_usd: '10' }, { code: 'invalid_type', param: 'amount_usd' }],
          [{ amount_usd: 0 }, { code: 'invalid_value', param: 'amount_usd' }],
          [{ amount_usd: 0.0000001 }, { code: 'invalid_value', param: 'amount_usd' }],
          [{ amount_usd: 2e9 }, { code: 'invalid_value', param: 'amount_usd' }],
        ];
        for (const [input, expected] of cases) {
          await expect(admin.addCredits(context, org.id, input), JSON.stringify(input)).rejects.toEqual(
            rejection({ status: 400, ...expected }),
          );
        }
        await expect(admin.addCredits(context, 'nobody', { amount_usd: 1 })).rejects.toEqual(
          notFound('nobody'),
        );
        await expect(admin.getBalance(context, 'nobody')).rejects.toEqual(notFound('nobody'));
      });

      it('sets budgets on an org, a project and a key, replaces them, and lists them with spend', async () => {
        const org = await newOrg();
        const key = await admin.createKey(context, { org: org.id });
        const orgBudget = await admin.setBudget(context, {
          scope: 'org',
          id: org.name,
          period: 'month',
          limit_usd: 50,
        });
        expect(orgBudget).toMatchObject({ object: 'budget', org_id: org.id, scope: 'org', scope_id: org.id });
        await admin.setBudget(context, {
          scope: 'project',
          id: org.default_project.id,
          period: 'day',
          limit_usd: 5,
        });
        await admin.setBudget(context, { scope: 'key', id: key.id, period: 'total', limit_usd: 1 });
        const replaced = await admin.setBudget(context, {
          scope: 'key',
          id: key.id,
          period: 'total',
          limit_usd: 2.5,
        });
        expect(replaced.limit_usd).toBe(2.5);
        expect(billingChanged).toEqual([org.id, org.id, org.id, org.id]);

        const reservation = `rsv_${counter}`;
        const base = {
          orgId: org.id,
          projectId: org.default_project.id,
          keyId: key.id,
          prepaid: false,
          now: startMs,
        };
        expect(
          await store.billing.reserve({ ...base, reservationId: reservation, amountMicros: 500_000 }),
        ).toEqual({
          ok: true,
        });
        await store.billing.settle({
          reservationId: reservation,
          eventId: `evt_${counter}`,
          actualMicros: 250_000,
          now: startMs,
        });

        const listed = await admin.listBudgets(context, { org: org.name });
        expect(
          listed.data.map((budget) => [budget.scope, budget.period, budget.limit_usd, budget.spent_usd]),
        ).toEqual([
          ['org', 'month', 50, 0.25],
          ['project', 'day', 5, 0.25],
          ['key', 'total', 2.5, 0.25],
        ]);
        expect((await admin.listBudgets(context)).data.length).toBeGreaterThanOrEqual(3);
      });

      it('rejects bad budget input and unknown targets', async () => {
        const org = await newOrg();
        const cases: [unknown, Record<string, unknown>][] = [
          [
            { id: org.id, period: 'day', limit_usd: 1 },
            { code: 'missing_required_parameter', param: 'scope' },
          ],
          [
            { scope: 'team', id: org.id, period: 'day', limit_usd: 1 },
            { code: 'invalid_value', param: 'scope' },
          ],
          [
            { scope: 'org', id: org.id, period: 'week', limit_usd: 1 },
            { code: 'invalid_value', param: 'period' },
          ],
          [
            { scope: 'org', id: org.id, period: 'day', limit_usd: -1 },
            { code: 'invalid_value', param: 'limit_usd' },
          ],
          [
            { scope: 'org', id: org.id, period: 'day' },
            { code: 'missing_required_parameter', param: 'limit_usd' },
          ],
        ];
        for (const [input, expected] of cases) {
          await expect(admin.setBudget(context, input), JSON.stringify(input)).rejects.toEqual(
            rejection({ status: 400, ...expected }),
          );
        }
        for (const scope of ['org', 'project', 'key']) {
          await expect(
            admin.setBudget(context, { scope, id: 'missing_1', period: 'day', limit_usd: 1 }),
          ).rejects.toEqual(notFound('missing_1'));
        }
        await expect(admin.listBudgets(context, { org: ['a', 'b'] })).rejects.toEqual(
          rejection({ status: 400, code: 'invalid_type', param: 'org' }),
        );
        expect(billingChanged).toEqual([]);
      });
    });
  });
}

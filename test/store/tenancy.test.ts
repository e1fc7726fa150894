import { describe, expect, it } from 'vitest';
import { StoreError } from '#src/store/repositories.js';
import { dialects, uniqueName, useStore } from './store-dialects.js';

const allMigrations = [
  '0001-tenancy',
  '0002-billing',
  '0003-request-events',
  '0004-containers',
  '0005-responses',
  '0006-internal-org',
];

for (const dialect of dialects) {
  describe(`store tenancy on ${dialect.name}`, () => {
    const fixture = useStore(dialect);

    const newOrg = async (limits: { rateLimit?: number; tokenRateLimit?: number } = {}) =>
      fixture.store.organizations.create({ name: uniqueName('org'), ...limits });

    describe('migrations', () => {
      it('apply every migration once on a new database, then nothing', async () => {
        const database = await dialect.createDatabase();
        try {
          expect(await database.migrate()).toEqual(allMigrations);
          expect(await database.migrate()).toEqual([]);
          const store = await database.open();
          try {
            await store.ping();
            expect(store.dialect).toBe(dialect.name);
          } finally {
            await store.close();
          }
          expect(await database.migrate()).toEqual([]);
        } finally {
          await database.drop();
        }
      });

      it('leave a store opened without migrating usable once migrated elsewhere', async () => {
        const store = await fixture.database.open({ migrate: false });
        try {
          expect(await store.organizations.findByIdOrName('nobody')).toBeUndefined();
        } finally {
          await store.close();
        }
      });

      it('ping rejects once the store is closed', async () => {
        const store = await fixture.database.open();
        await store.ping();
        await store.close();
        await expect(store.ping()).rejects.toThrow();
      });
    });

    describe('organizations', () => {
      it('create the organization with its default project', async () => {
        const { organization, defaultProject } = await newOrg({ rateLimit: 100, tokenRateLimit: 5000 });
        expect(organization).toEqual({
          id: expect.stringMatching(/^org_[A-Za-z0-9]{24}$/),
          name: organization.name,
          disabled: false,
          rateLimit: 100,
          tokenRateLimit: 5000,
          createdAt: fixture.clock.now(),
        });
        expect(defaultProject).toMatchObject({ orgId: organization.id, name: 'default' });
        expect(defaultProject.id).toMatch(/^proj_/);
        expect(await fixture.store.projects.defaultFor(organization.id)).toEqual(defaultProject);
        expect(await fixture.store.organizations.list()).toContainEqual(organization);
      });

      it('refuse a taken name', async () => {
        const { organization } = await newOrg();
        const attempt = fixture.store.organizations.create({ name: organization.name });
        await expect(attempt).rejects.toBeInstanceOf(StoreError);
        await expect(attempt).rejects.toMatchObject({ code: 'duplicate' });
      });

      it('are found by id or by name', async () => {
        const { organization } = await newOrg();
        expect(await fixture.store.organizations.findByIdOrName(organization.id)).toEqual(organization);
        expect(await fixture.store.organizations.findByIdOrName(organization.name)).toEqual(organization);
        expect(await fixture.store.organizations.findByIdOrName('org_missing')).toBeUndefined();
      });

      it('are disabled and enabled again', async () => {
        const { organization } = await newOrg();
        expect(await fixture.store.organizations.setDisabled(organization.id, true)).toMatchObject({
          disabled: true,
        });
        expect(await fixture.store.organizations.findByIdOrName(organization.id)).toMatchObject({
          disabled: true,
        });
        expect(await fixture.store.organizations.setDisabled(organization.id, false)).toMatchObject({
          disabled: false,
        });
        expect(await fixture.store.organizations.setDisabled('org_missing', true)).toBeUndefined();
      });

      it('update or clear their limits', async () => {
        const { organization } = await newOrg({ rateLimit: 10 });
        const updated = await fixture.store.organizations.updateLimits(organization.id, {
          tokenRateLimit: 900,
        });
        expect(updated).toMatchObject({ rateLimit: 10, tokenRateLimit: 900 });
        const cleared = await fixture.store.organizations.updateLimits(organization.id, { rateLimit: null });
        expect(cleared).toMatchObject({ rateLimit: null, tokenRateLimit: 900 });
        expect(await fixture.store.organizations.updateLimits(organization.id, {})).toEqual(cleared);
      });
    });

    describe('projects', () => {
      it('are created, listed per organization and found only in their organization', async () => {
        const { organization, defaultProject } = await newOrg();
        const other = await newOrg();
        const project = await fixture.store.projects.create({ orgId: organization.id, name: 'research' });
        expect(project).toMatchObject({
          orgId: organization.id,
          name: 'research',
          createdAt: fixture.clock.now(),
        });
        expect(await fixture.store.projects.list(organization.id)).toEqual([defaultProject, project]);
        expect(await fixture.store.projects.find(project.id)).toEqual(project);
        expect(await fixture.store.projects.find(project.id, organization.id)).toEqual(project);
        expect(await fixture.store.projects.find(project.id, other.organization.id)).toBeUndefined();
        expect(await fixture.store.projects.list(other.organization.id)).toEqual([other.defaultProject]);
      });

      it('refuse a taken name and an unknown organization', async () => {
        const { organization } = await newOrg();
        await expect(
          fixture.store.projects.create({ orgId: organization.id, name: 'default' }),
        ).rejects.toMatchObject({
          code: 'duplicate',
        });
        await expect(
          fixture.store.projects.create({ orgId: 'org_missing', name: 'x' }),
        ).rejects.toMatchObject({
          code: 'not_found',
        });
      });

      it('resolve internal-key attribution by org id or name and project', async () => {
        const { organization, defaultProject } = await newOrg();
        const other = await newOrg();
        const project = await fixture.store.projects.create({ orgId: organization.id, name: 'attributed' });
        const resolve = fixture.store.projects.resolveAttribution;
        expect(await resolve(organization.id, undefined)).toEqual({
          orgId: organization.id,
          projectId: defaultProject.id,
        });
        expect(await resolve(organization.name, project.id)).toEqual({
          orgId: organization.id,
          projectId: project.id,
        });
        expect(await resolve(undefined, project.id)).toEqual({
          orgId: organization.id,
          projectId: project.id,
        });
        expect(await resolve(other.organization.id, project.id)).toBeUndefined();
        expect(await resolve('org_missing', undefined)).toBeUndefined();
        expect(await resolve(undefined, undefined)).toBeUndefined();
      });
    });

    describe('API keys', () => {
      let hashCounter = 0;
      const keyInput = (extra: Record<string, unknown> = {}) => {
        hashCounter += 1;
        const hash = `${dialect.name}-${hashCounter}-${uniqueName('hash')}`.padEnd(64, '0');
        return { name: 'ci', hash, prefix: 'mk_live_abcd', ...extra };
      };

      it('belong to the default project when created with only an organization', async () => {
        const { organization, defaultProject } = await newOrg();
        const key = await fixture.store.apiKeys.create(
          keyInput({ orgId: organization.id, expiresAt: 1_900_000_000_000 }),
        );
        expect(key).toEqual({
          id: expect.stringMatching(/^key_[A-Za-z0-9]{24}$/),
          orgId: organization.id,
          projectId: defaultProject.id,
          name: 'ci',
          prefix: 'mk_live_abcd',
          expiresAt: 1_900_000_000_000,
          disabledAt: null,
          revokedAt: null,
          rateLimit: null,
          tokenRateLimit: null,
          lastUsedAt: null,
          createdAt: fixture.clock.now(),
        });
      });

      it("take the project's organization when created with only a project", async () => {
        const { organization } = await newOrg();
        const other = await newOrg();
        const project = await fixture.store.projects.create({ orgId: organization.id, name: 'p' });
        const key = await fixture.store.apiKeys.create(keyInput({ projectId: project.id, rateLimit: 7 }));
        expect(key).toMatchObject({ orgId: organization.id, projectId: project.id, rateLimit: 7 });
        await expect(
          fixture.store.apiKeys.create(keyInput({ orgId: other.organization.id, projectId: project.id })),
        ).rejects.toMatchObject({ code: 'not_found' });
        await expect(fixture.store.apiKeys.create(keyInput({ orgId: 'org_missing' }))).rejects.toMatchObject({
          code: 'not_found',
        });
      });

      it('refuse a hash already stored', async () => {
        const { organization } = await newOrg();
        const input = keyInput({ orgId: organization.id });
        await fixture.store.apiKeys.create(input);
        await expect(fixture.store.apiKeys.create(input)).rejects.toMatchObject({ code: 'duplicate' });
      });

      it('are looked up by hash with their organization in one query', async () => {
        const { organization, defaultProject } = await newOrg({ rateLimit: 42 });
        const input = keyInput({ orgId: organization.id, tokenRateLimit: 99 });
        const key = await fixture.store.apiKeys.create(input);
        const statements: string[] = [];
        const observed = await fixture.database.open({
          migrate: false,
          onQuery: (query) => statements.push(query.sql),
        });
        try {
          const found = await observed.apiKeys.findByHash(input.hash);
          expect(statements).toHaveLength(1);
          expect(found).toEqual({ ...key, organization, defaultProjectId: defaultProject.id });
          expect(await observed.apiKeys.findByHash('0'.repeat(64))).toBeUndefined();
        } finally {
          await observed.close();
        }
      });

      it('without an organization come back with a null organization', async () => {
        const input = keyInput();
        const key = await fixture.store.apiKeys.create(input);
        expect(key).toMatchObject({ orgId: null, projectId: null });
        expect(await fixture.store.apiKeys.findByHash(input.hash)).toEqual({
          ...key,
          organization: null,
          defaultProjectId: null,
        });
      });

      it('reflect a disabled organization in the lookup', async () => {
        const { organization } = await newOrg();
        const input = keyInput({ orgId: organization.id });
        await fixture.store.apiKeys.create(input);
        await fixture.store.organizations.setDisabled(organization.id, true);
        expect((await fixture.store.apiKeys.findByHash(input.hash))?.organization?.disabled).toBe(true);
      });

      it('are revoked and disabled once, keeping the first time, and only within their organization', async () => {
        const { organization } = await newOrg();
        const other = await newOrg();
        const input = keyInput({ orgId: organization.id });
        const key = await fixture.store.apiKeys.create(input);
        const revokedAt = fixture.clock.now();
        expect(await fixture.store.apiKeys.revoke(key.id, other.organization.id)).toBeUndefined();
        expect((await fixture.store.apiKeys.findById(key.id))?.revokedAt).toBeNull();
        expect(await fixture.store.apiKeys.revoke(key.id, organization.id)).toMatchObject({ revokedAt });
        fixture.clock.advance(1_000);
        expect(await fixture.store.apiKeys.revoke(key.id)).toMatchObject({ revokedAt });
        expect(await fixture.store.apiKeys.disable(key.id)).toMatchObject({
          disabledAt: fixture.clock.now(),
        });
        expect(await fixture.store.apiKeys.findByHash(input.hash)).toMatchObject({
          revokedAt,
          disabledAt: fixture.clock.now(),
        });
        expect(await fixture.store.apiKeys.revoke('key_missing')).toBeUndefined();
      });

      it('are listed newest first, per organization', async () => {
        const { organization } = await newOrg();
        const other = await newOrg();
        const first = await fixture.store.apiKeys.create(keyInput({ orgId: organization.id }));
        fixture.clock.advance(1);
        const second = await fixture.store.apiKeys.create(keyInput({ orgId: organization.id }));
        await fixture.store.apiKeys.create(keyInput({ orgId: other.organization.id }));
        expect(await fixture.store.apiKeys.list(organization.id)).toEqual([second, first]);
        expect(await fixture.store.apiKeys.findById(first.id, other.organization.id)).toBeUndefined();
        expect((await fixture.store.apiKeys.list()).map((key) => key.id)).toEqual(
          expect.arrayContaining([first.id, second.id]),
        );
      });

      it('record last use in one statement per batch, never moving it back', async () => {
        const { organization } = await newOrg();
        const first = await fixture.store.apiKeys.create(keyInput({ orgId: organization.id }));
        const second = await fixture.store.apiKeys.create(keyInput({ orgId: organization.id }));
        const statements: string[] = [];
        const observed = await fixture.database.open({
          migrate: false,
          onQuery: (query) => statements.push(query.sql),
        });
        try {
          await observed.apiKeys.touchLastUsed([first.id, second.id, first.id], 5_000);
          expect(statements).toHaveLength(1);
          await observed.apiKeys.touchLastUsed([first.id], 4_000);
          await observed.apiKeys.touchLastUsed([], 9_000);
        } finally {
          await observed.close();
        }
        expect((await fixture.store.apiKeys.findById(first.id))?.lastUsedAt).toBe(5_000);
        expect((await fixture.store.apiKeys.findById(second.id))?.lastUsedAt).toBe(5_000);
      });
    });
  });
}

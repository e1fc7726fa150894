import { describe, expect, it } from 'vitest';
import type { SaveResponseInput } from '#src/store/repositories.js';
import { dialects, uniqueName, useStore } from './store-dialects.js';

for (const dialect of dialects) {
  describe(`store containers and responses on ${dialect.name}`, () => {
    const fixture = useStore(dialect);

    const newTenant = async () => {
      const { organization, defaultProject } = await fixture.store.organizations.create({
        name: uniqueName('org'),
      });
      return { orgId: organization.id, projectId: defaultProject.id };
    };

    describe('containers', () => {
      const create = (projectId: string, label: string, extra: Record<string, unknown> = {}) =>
        fixture.store.containers.getOrCreate({
          projectId,
          label,
          initialModel: 'openai/gpt-4o-mini',
          initialSystemPrompt: 'You are terse.',
          now: fixture.clock.now(),
          ...extra,
        });

      it('are created once per label (201), then returned unchanged (200)', async () => {
        const { projectId } = await newTenant();
        const first = await create(projectId, 'support-bot');
        expect(first).toEqual({
          created: true,
          container: {
            id: expect.stringMatching(/^ctr_[A-Za-z0-9]{24}$/),
            projectId,
            label: 'support-bot',
            model: 'openai/gpt-4o-mini',
            initialModel: 'openai/gpt-4o-mini',
            deployedModel: null,
            systemPrompt: 'You are terse.',
            initialSystemPrompt: 'You are terse.',
            models: ['openai/gpt-4o-mini'],
            createdAt: fixture.clock.now(),
            updatedAt: fixture.clock.now(),
          },
        });
        const again = await create(projectId, 'support-bot', {
          initialModel: 'other/model',
          initialSystemPrompt: 'x',
        });
        expect(again).toEqual({ created: false, container: first.container });
        expect((await create(projectId, 'Support-Bot')).created).toBe(true);
      });

      it('racing creators of one label get one container and one created flag', async () => {
        const { projectId } = await newTenant();
        const results = await Promise.all(Array.from({ length: 8 }, () => create(projectId, 'racy')));
        expect(results.filter((result) => result.created)).toHaveLength(1);
        expect(new Set(results.map((result) => result.container.id)).size).toBe(1);
      });

      it('deploy a model, replace the prompt, replace models keeping the current one, attach more', async () => {
        const { projectId } = await newTenant();
        await create(projectId, 'bot');
        fixture.clock.advance(1_000);
        const now = fixture.clock.now();
        const deployed = await fixture.store.containers.update(
          projectId,
          'bot',
          { model: 'anthropic/claude' },
          now,
        );
        expect(deployed).toMatchObject({
          model: 'anthropic/claude',
          deployedModel: 'anthropic/claude',
          initialModel: 'openai/gpt-4o-mini',
          models: ['openai/gpt-4o-mini', 'anthropic/claude'],
          updatedAt: now,
        });
        expect(deployed?.createdAt).toBe(now - 1_000);
        const prompted = await fixture.store.containers.update(
          projectId,
          'bot',
          { systemPrompt: 'Be kind.' },
          now,
        );
        expect(prompted).toMatchObject({ systemPrompt: 'Be kind.', initialSystemPrompt: 'You are terse.' });
        const replaced = await fixture.store.containers.update(
          projectId,
          'bot',
          { models: ['x/one', 'x/one'] },
          now,
        );
        expect(replaced?.models).toEqual(['x/one', 'anthropic/claude']);
        const attached = await fixture.store.containers.attachModels(
          projectId,
          'bot',
          ['x/two', 'x/one'],
          now,
        );
        expect(attached?.models).toEqual(['x/one', 'anthropic/claude', 'x/two']);
        expect(await fixture.store.containers.get(projectId, 'bot')).toEqual(attached);
        expect(
          await fixture.store.containers.update(projectId, 'missing', { model: 'm' }, now),
        ).toBeUndefined();
      });

      it('are listed newest first with a total, and deleted', async () => {
        const { projectId } = await newTenant();
        const a = await create(projectId, 'a');
        fixture.clock.advance(1);
        const b = await create(projectId, 'b');
        expect(await fixture.store.containers.list(projectId, { limit: 1, offset: 0 })).toEqual({
          data: [b.container],
          total: 2,
        });
        expect(await fixture.store.containers.delete(projectId, 'a')).toEqual({ id: a.container.id });
        expect(await fixture.store.containers.delete(projectId, 'a')).toBeUndefined();
        expect(await fixture.store.containers.get(projectId, 'a')).toBeUndefined();
        expect((await fixture.store.containers.list(projectId)).total).toBe(1);
      });

      it("of one project are invisible to another's", async () => {
        const tenant = await newTenant();
        const other = await newTenant();
        await create(tenant.projectId, 'private');
        const now = fixture.clock.now();
        expect(await fixture.store.containers.get(other.projectId, 'private')).toBeUndefined();
        expect(await fixture.store.containers.list(other.projectId)).toEqual({ data: [], total: 0 });
        expect(
          await fixture.store.containers.update(other.projectId, 'private', { model: 'm' }, now),
        ).toBeUndefined();
        expect(
          await fixture.store.containers.attachModels(other.projectId, 'private', ['m'], now),
        ).toBeUndefined();
        expect(await fixture.store.containers.delete(other.projectId, 'private')).toBeUndefined();
        expect((await create(other.projectId, 'private')).created).toBe(true);
        expect(await fixture.store.containers.get(tenant.projectId, 'private')).toMatchObject({
          models: ['openai/gpt-4o-mini'],
        });
      });
    });

    describe('responses', () => {
      const responseOf = (
        tenant: { orgId: string; projectId: string },
        extra: Partial<SaveResponseInput> = {},
      ): SaveResponseInput => {
        const id = uniqueName('resp');
        return {
          id,
          orgId: tenant.orgId,
          projectId: tenant.projectId,
          keyId: 'key_1',
          status: 'completed',
          isBackground: false,
          model: 'openai/gpt-4o-mini',
          previousResponseId: null,
          request: { input: 'hi' },
          response: { id, object: 'response', status: 'completed', output: [] },
          error: null,
          createdAt: fixture.clock.now(),
          ...extra,
        };
      };

      it('are saved, replaced, read and deleted within their organization only', async () => {
        const tenant = await newTenant();
        const other = await newTenant();
        const saved = responseOf(tenant);
        await fixture.store.responses.save(saved);
        expect(await fixture.store.responses.get(tenant.orgId, saved.id)).toEqual({
          ...saved,
          workerId: null,
          updatedAt: fixture.clock.now(),
        });
        expect(await fixture.store.responses.get(other.orgId, saved.id)).toBeUndefined();
        await fixture.store.responses.save({ ...saved, status: 'incomplete', response: { replaced: true } });
        expect(await fixture.store.responses.get(tenant.orgId, saved.id)).toMatchObject({
          status: 'incomplete',
          response: { replaced: true },
        });
        expect(await fixture.store.responses.delete(other.orgId, saved.id)).toBe(false);
        expect(await fixture.store.responses.delete(tenant.orgId, saved.id)).toBe(true);
        expect(await fixture.store.responses.get(tenant.orgId, saved.id)).toBeUndefined();
      });

      it('change status only from the expected ones (cancel)', async () => {
        const tenant = await newTenant();
        const job = responseOf(tenant, { status: 'queued', isBackground: true, response: null });
        await fixture.store.responses.save(job);
        const cancel = {
          status: 'cancelled' as const,
          now: fixture.clock.now() + 5,
          ifStatusIn: ['queued', 'in_progress'] as const,
        };
        expect(await fixture.store.responses.update(tenant.orgId, job.id, cancel)).toMatchObject({
          status: 'cancelled',
          updatedAt: fixture.clock.now() + 5,
        });
        expect(await fixture.store.responses.update(tenant.orgId, job.id, cancel)).toBeUndefined();
        expect(
          await fixture.store.responses.update('org_other', job.id, { status: 'failed', now: 0 }),
        ).toBeUndefined();
        const failed = await fixture.store.responses.update(undefined, job.id, {
          status: 'failed',
          error: { code: 'shutting_down', message: 'The gateway is shutting down.' },
          now: 0,
        });
        expect(failed).toMatchObject({ status: 'failed', error: { code: 'shutting_down' } });
      });

      it('background jobs are claimed oldest first, each by exactly one claimer', async () => {
        const tenant = await newTenant();
        const start = fixture.clock.now();
        const jobs = Array.from({ length: 6 }, (_, index) =>
          responseOf(tenant, {
            status: 'queued',
            isBackground: true,
            response: null,
            createdAt: start + index,
          }),
        );
        await fixture.store.responses.save(responseOf(tenant, { status: 'queued', isBackground: false }));
        for (const job of jobs) await fixture.store.responses.save(job);
        expect(await fixture.store.responses.countQueued()).toBe(6);

        const first = await fixture.store.responses.claimNext({ workerId: 'w0', now: start + 100 });
        expect(first).toMatchObject({
          id: jobs[0]?.id,
          status: 'in_progress',
          workerId: 'w0',
          updatedAt: start + 100,
        });
        // A second store (pool) where the engine allows one per thread; SQLite races on its one connection.
        const second = dialect.allowsStoresPerThread
          ? await fixture.database.open({ migrate: false })
          : fixture.store;
        try {
          const claims = await Promise.all(
            Array.from({ length: 8 }, (_, index) =>
              (index % 2 === 0 ? fixture.store : second).responses.claimNext({
                workerId: `w${index}`,
                now: start + 200,
              }),
            ),
          );
          const claimed = claims.filter((claim) => claim !== undefined).map((claim) => claim.id);
          expect(claimed.sort()).toEqual(
            jobs
              .slice(1)
              .map((job) => job.id)
              .sort(),
          );
        } finally {
          if (second !== fixture.store) await second.close();
        }
        expect(await fixture.store.responses.countQueued()).toBe(0);
        expect(await fixture.store.responses.claimNext({ workerId: 'w9', now: start })).toBeUndefined();
      });

      it('a claim with nothing queued reads and opens no transaction', async () => {
        const statements: string[] = [];
        const store = await fixture.database.open({
          migrate: false,
          onQuery: (query) => statements.push(query.sql),
        });
        try {
          const tenant = await newTenant();
          await store.responses.save(responseOf(tenant, { status: 'queued', isBackground: false }));
          while ((await store.responses.claimNext({ workerId: 'drain', now: 0 })) !== undefined) {}
          statements.length = 0;
          expect(await store.responses.claimNext({ workerId: 'w-idle', now: 0 })).toBeUndefined();
          expect(statements).toHaveLength(1);
          expect(statements[0]).toMatch(/^select/i);
        } finally {
          await store.close();
        }
      });

      it('are purged by age', async () => {
        const tenant = await newTenant();
        const old = responseOf(tenant, { createdAt: 5 });
        const fresh = responseOf(tenant);
        await fixture.store.responses.save(old);
        await fixture.store.responses.save(fresh);
        expect(await fixture.store.responses.purge(10)).toBe(1);
        expect(await fixture.store.responses.get(tenant.orgId, old.id)).toBeUndefined();
        expect(await fixture.store.responses.get(tenant.orgId, fresh.id)).toBeDefined();
      });
    });
  });
}

import { observeStart } from '../metrics/timings.ts';
import { HearthError, newId, type BootProfile, type BootStepTiming, type Vm } from '@hearth/contract';
import { isUniqueViolation } from '../../db/index.ts';
import { vmFromRow } from '../../store/mappers.ts';
import { hostOf, type VmContext } from '../vms/context.ts';
import { guestCredentials, type CreateInput } from '../vms/create-input.ts';
import { pushDnsNames } from '../vms/dns-push.ts';
import { runDelete } from '../vms/lifecycle.ts';
import { stopAtFor } from '../vms/timeouts.ts';
import { moveVm } from '../vms/transitions.ts';
import { assertFitsPool, poolBoot } from './spec.ts';

/**
 * `createVm` with `pool`: a ready VM of the pool is taken (never the same one twice), given the
 * requested name, env and users, personalized through its guest agent and set running. An empty
 * pool, or a hand-out that fails, falls back to `coldBoot` with the pool's spec, and the VM's
 * boot profile says `cold`.
 */
export async function createFromPool(
  ctx: VmContext,
  body: CreateInput & { pool: string },
  actor: string,
  coldBoot: (body: CreateInput) => Promise<Vm>,
): Promise<Vm> {
  const t0 = performance.now();
  const pool = await ctx.stores.pools.require(body.pool, body.project);
  const boot = await poolBoot(ctx.stores, pool.project, pool.spec);
  assertFitsPool(body, boot, pool.name);
  const name = body.name ?? `vm-${newId('vm').slice(-6)}`;
  const { users } = await guestCredentials(body);
  const steps: BootStepTiming[] = [];
  const profile = (source: BootProfile['source']): BootProfile => ({
    source,
    pool: source === 'pool' ? pool.name : null,
    steps: [...steps],
    totalMs: Math.round(performance.now() - t0),
    at: new Date().toISOString(),
  });
  let id: string | null;
  try {
    id = await ctx.stores.pools.take(pool.project, pool.name, {
      name,
      env: body.env ?? {},
      labels: body.labels ?? {},
      users,
      timeout: body.timeout ?? null,
      boot: profile('pool'),
    });
  } catch (e) {
    if (isUniqueViolation(e, 'vms_project_name')) {
      throw new HearthError(
        'VM_NAME_TAKEN',
        `Creating the VM failed: project "${body.project}" already has a VM named "${name}".`,
        { fields: { name: ['already taken'] } },
      );
    }
    throw e;
  }
  steps.push({ name: 'take', ms: Math.round(performance.now() - t0) });
  if (id) {
    const handed = await personalize(ctx, id, name, body, users, actor, steps, profile);
    if (handed) {
      await ctx.stores.pools.count(pool.id, 'hit');
      return handed;
    }
  }
  // A miss: the VM boots as any other, from the pool's spec, and says so.
  await ctx.stores.pools.count(pool.id, 'miss');
  const { pool: _pool, ...rest } = body;
  const vm = await coldBoot({ ...rest, ...boot, name });
  const cold = profile('cold');
  await ctx.stores.pools.setBoot(vm.id, cold);
  await ctx.stores.vms.addEvent(vm.id, 'pool-miss', actor, `pool ${pool.name} had no ready VM`);
  return { ...vm, boot: cold };
}

/** Personalizes a taken VM and sets it running; null (the VM removed) when its guest refused. */
async function personalize(
  ctx: VmContext,
  id: string,
  name: string,
  body: CreateInput,
  users: Awaited<ReturnType<typeof guestCredentials>>['users'],
  actor: string,
  steps: BootStepTiming[],
  profile: (source: BootProfile['source']) => BootProfile,
): Promise<Vm | null> {
  const row = await ctx.stores.vms.requireUnscoped(id);
  const t = performance.now();
  // It ran under the pool's name until now: its networks learn the one it is handed out as, while
  // its guest takes it (never throws; a VM whose hand-out fails is deleted, and its names with it).
  const named = pushDnsNames(ctx, { ...row, state: 'running' });
  try {
    await ctx.agents.personalize(await hostOf(ctx, row), id, {
      hostname: name,
      env: body.env ?? {},
      users: users.map((u) => ({ name: u.name, passwordHash: u.passwordHash, sshKeys: u.sshKeys })),
    });
  } catch (e) {
    await named;
    ctx.log.warn({ vm: id, err: (e as Error).message }, 'personalizing a pooled VM failed; booting cold');
    // It frees the name for the cold boot, and goes.
    await ctx.stores.vms.patch(id, { name: `pool-failed-${id.slice(-8)}` }).catch(() => null);
    const failed = await ctx.stores.vms.requireUnscoped(id);
    const gone = await moveVm(ctx, failed, 'deleting', 'pool', { desiredState: 'deleted' }).catch(() => null);
    if (gone) ctx.operations.track(id, () => runDelete(ctx, gone, 'pool'));
    return null;
  }
  steps.push({ name: 'personalize', ms: Math.round(performance.now() - t) });
  const handed = profile('pool');
  await ctx.stores.pools.setBoot(id, handed);
  observeStart(handed);
  const now = new Date();
  const running = await moveVm(ctx, await ctx.stores.vms.requireUnscoped(id), 'running', actor, {
    reason: null,
    desiredState: 'running',
    startedAt: now,
    stopAt: stopAtFor(body.timeout ?? null, now),
  });
  await named;
  if (!running) throw new HearthError('VM_BUSY', `The VM taken from the pool changed state meanwhile.`);
  return vmFromRow(running);
}

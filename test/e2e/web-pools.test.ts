import { describe, expect, it } from 'vitest';
import type { Vm } from '@hearth/contract';
import { makeUser } from '../helpers/identity.ts';
import { CLI_ENV, cli } from '../helpers/proc.ts';
import { BOOT_MS, useDashboard } from '../helpers/dashboard.ts';

/** A refill is a boot that waits for the pool's turn in the host's boot budget first. */
const FILL_MS = 2 * BOOT_MS;
/** Each step below waits for at most one fill or boot, and some clicks. */
const STEP = { timeout: FILL_MS + 120_000 };

// Warm pools in the dashboard (real Chromium, real platform, one real pooled VM at a time): a pool
// created from the Pools page (a bad name and size refused first) fills to its size 1, the pooled
// VM is visible in state `pooled`, a VM made from the pool with the wizard is handed out (its Boot
// profile says so, step by step), the pool refills and the CLI takes that one (`create --pool`
// says it came from the pool, `inspect` prints the steps), then the pool is resized to 0 and
// deleted after a confirmation. A viewer sees the write buttons disabled with the reason. Every
// wait is on a DOM state or a process's exit.
describe('web dashboard: warm pools', () => {
  const ui = useDashboard({ signedIn: true });
  const { heading, accessible } = ui;
  const nav = (name: string) =>
    ui.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
  const row = () => ui.page.locator('tr[data-pool="web-pool"]');
  const cell = (id: string, text: string | RegExp) =>
    row()
      .getByTestId(id)
      .filter({
        hasText:
          typeof text === 'string' ? new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) : text,
      });
  /** The pool's ready count reaching `n`; on a timeout, the pool and its VMs as the API sees them. */
  const readyAt = async (n: number) => {
    await cell('pool-ready', String(n))
      .waitFor({ timeout: FILL_MS })
      .catch(async (e: unknown) => {
        const pool = await ui.p.client.call('getPool', { params: { id: 'web-pool' } });
        const vms = (await ui.p.client.all('listVms')).map((v) => [v.name, v.state, v.pool, v.stateReason]);
        throw new Error(
          `${(e as Error).message}\npool: ${JSON.stringify(pool)}\nvms: ${JSON.stringify(vms)}`,
        );
      });
  };
  const hearth = (args: string[]) =>
    cli(args, {
      HEARTH_URL: ui.p.manager.url,
      HEARTH_TOKEN: ui.p.manager.adminToken,
      ...CLI_ENV,
      HEARTH_PROJECT: '',
    });

  it('creates a pool from the Pools page and sees it fill', STEP, async () => {
    await nav('Pools').click();
    await heading('Pools').waitFor();
    await ui.page.getByText('No pools yet').waitFor();
    await ui.page.getByRole('button', { name: 'New pool' }).click();
    // Refused before anything is sent: the contract's own rules, next to their inputs.
    await ui.page.getByLabel('Pool name', { exact: true }).fill('Web Pool');
    await ui.page.getByLabel('Size', { exact: true }).fill('65');
    await ui.page.getByRole('button', { name: 'Create pool' }).click();
    await ui.page.getByTestId('field-error').first().waitFor();
    for (const label of ['Pool name', 'Size'])
      expect(await ui.page.getByLabel(label, { exact: true }).getAttribute('aria-invalid')).toBe('true');
    await accessible('pools-create-refused');
    expect(await ui.p.client.all('listPools')).toEqual([]);

    await ui.page.getByLabel('Pool name', { exact: true }).fill('web-pool');
    await ui.page.getByLabel('Size', { exact: true }).fill('1');
    await ui.page.getByLabel('Mode', { exact: true }).selectOption('booted');
    await ui.page.getByRole('button', { name: 'Create pool' }).click();
    await row().waitFor();
    await cell('pool-size', '1').waitFor();
    // It fills in the background; the counts follow its VM through the event stream.
    await readyAt(1);
    await cell('pool-warming', '0').waitFor();
    await cell('pool-hit-rate', '—').waitFor();
    await cell('pool-error', '—').waitFor();
    await accessible('pools');
  });

  it('shows the pooled VM waiting in its pool', async () => {
    // The pooled VM is visible, in state `pooled`, and says what it is waiting for.
    const pooled = (await ui.p.client.all('listVms')).find((v) => v.state === 'pooled') as Vm;
    expect(pooled).toBeDefined();
    await ui.page.goto(`${ui.p.manager.url}/vms/${pooled.id}`);
    await ui.state('pooled').waitFor();
    await ui.page.getByRole('status').filter({ hasText: 'Waiting in warm pool web-pool' }).waitFor();
    // Its profile is its own boot into the pool; the hand-out writes a new one.
    await ui.page.getByTestId('boot-profile').and(ui.page.locator('[data-source="cold"]')).waitFor();
    await accessible('vm-pooled');
  });

  it('hands a VM out through the wizard and shows its boot profile', STEP, async () => {
    // A VM from the pool, through the wizard: no resources or network of its own go along.
    await nav('VMs').click();
    await ui.page.getByRole('link', { name: 'Create VM' }).click();
    await ui.page.getByLabel('Name', { exact: true }).fill('from-pool');
    for (const step of ['Resources', 'Boot source']) {
      await ui.page.getByRole('button', { name: 'Next' }).click();
      await ui.page.getByRole('heading', { name: new RegExp(`: ${step}$`) }).waitFor();
    }
    await ui.page.getByLabel('A warm pool (booted ahead of time)', { exact: true }).check();
    // Without a choice the step refuses to move on.
    await ui.page.getByRole('button', { name: 'Next' }).click();
    await ui.page.getByTestId('field-error').filter({ hasText: 'choose a pool' }).waitFor();
    await ui.page.getByLabel('Pool', { exact: true }).selectOption('web-pool');
    for (const step of ['Network', 'Credentials & review']) {
      await ui.page.getByRole('button', { name: 'Next' }).click();
      await ui.page.getByRole('heading', { name: new RegExp(`: ${step}$`) }).waitFor();
      if (step === 'Network')
        await ui.page.getByLabel('Environment variables', { exact: true }).fill('GREETING=hi');
    }
    await ui.page.getByText('from warm pool web-pool; a normal boot if it is empty').waitFor();
    await accessible('create-from-pool-review');
    await ui.page.getByRole('button', { name: 'Create VM' }).click();
    await heading(/^from-pool/).waitFor();
    await ui.state('running').waitFor({ timeout: BOOT_MS });
    const profile = ui.page.getByTestId('boot-profile');
    await profile.and(ui.page.locator('[data-source="pool"]')).waitFor();
    await profile.getByText('handed out from warm pool web-pool').waitFor();
    const steps = ui.page.getByRole('list', { name: 'Boot steps' });
    await steps.locator('li[data-step="personalize"]').getByTestId('boot-step-ms').waitFor();
    expect(
      await steps.locator('li[data-step="personalize"]').getByTestId('boot-step-ms').innerText(),
    ).toMatch(/^[\d.]+ m?s$/);
    await accessible('vm-boot-profile');
    const made = (await ui.p.client.call('getVm', { params: { id: 'from-pool' } })) as Vm;
    expect(made).toMatchObject({ pool: 'web-pool', env: { GREETING: 'hi' }, boot: { source: 'pool' } });
    expect(made.boot!.steps.map((s) => s.name)).toContain('personalize');
  });

  it('counts the hit, refills, and the CLI takes the next VM and prints its boot steps', STEP, async () => {
    // The hand-out counts as a hit, and the pool refills itself.
    await nav('Pools').click();
    await cell('pool-hit-rate', '100% (1 of 1)').waitFor();
    await readyAt(1);

    // The CLI takes the refilled VM and says so; `inspect` prints the steps with their ms.
    const taken = await hearth(['create', '--pool', 'web-pool', '--name', 'cli-from-pool']);
    expect(taken.stderr).toBe('');
    expect(taken.code).toBe(0);
    expect(taken.stdout).toMatch(/^cli-from-pool \(\S+\) is running/);
    expect(taken.stdout).toMatch(/\nfrom pool web-pool: handed out in [\d.]+ m?s\n/);
    const inspect = await hearth(['inspect', 'cli-from-pool']);
    expect(inspect.stdout).toMatch(/\npool\s+web-pool\n/);
    expect(inspect.stdout).toMatch(/\nboot\s+from warm pool web-pool, [\d.]+ m?s total, at /);
    expect(inspect.stdout).toMatch(/\n\s+personalize\s+[\d.]+ m?s\s+#+/);
    await cell('pool-hit-rate', '100% (2 of 2)').waitFor();
  });

  it('resizes the pool to 0 and deletes it after a confirmation', STEP, async () => {
    // Resized to 0 (no more refills), then deleted after a confirmation.
    await row().getByRole('button', { name: 'Resize web-pool' }).click();
    const dialog = ui.page.getByRole('dialog');
    await dialog.getByLabel('New size', { exact: true }).fill('1.5');
    await dialog.getByRole('button', { name: 'Resize' }).click();
    await dialog.getByTestId('field-error').filter({ hasText: 'a whole number of VMs' }).waitFor();
    await accessible('pools-resize-dialog');
    await dialog.getByLabel('New size', { exact: true }).fill('0');
    await dialog.getByRole('button', { name: 'Resize' }).click();
    await dialog.waitFor({ state: 'detached' });
    await cell('pool-size', '0').waitFor();
    await readyAt(0);
    await cell('pool-warming', '0').waitFor({ timeout: FILL_MS });
    await row().getByRole('button', { name: 'Delete web-pool' }).click();
    await ui.page.getByRole('dialog').getByText('VMs already handed out from it are not touched').waitFor();
    await accessible('pools-delete-dialog');
    await ui.page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await row().waitFor({ state: 'detached' });
    // The VMs handed out stay.
    const left = (await ui.p.client.all('listVms')).filter((v) => v.state !== 'deleting').map((v) => v.name);
    expect(left.sort()).toEqual(['cli-from-pool', 'from-pool']);
    for (const name of left) await ui.p.client.call('deleteVm', { params: { id: name } });
  });

  it("disables a viewer's write buttons with the reason", async () => {
    await ui.p.client.call('createPool', { body: { name: 'quiet', size: 0 } });
    const viewer = await makeUser(ui.p.manager.stores, { name: 'pool-viewer', roles: { default: 'viewer' } });
    await ui.page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await ui.page.getByLabel('API token').fill(viewer.token);
    await ui.page.getByRole('button', { name: 'Sign in with token' }).click();
    await ui.page.getByTestId('whoami').filter({ hasText: 'pool-viewer' }).waitFor();
    await nav('Pools').click();
    const quiet = ui.page.locator('tr[data-pool="quiet"]');
    await quiet.waitFor();
    const reason = 'Needs the operator role in project default; you have viewer.';
    for (const button of [
      ui.page.getByRole('button', { name: 'New pool' }),
      quiet.getByRole('button', { name: 'Resize quiet' }),
      quiet.getByRole('button', { name: 'Delete quiet' }),
    ]) {
      expect(await button.isDisabled()).toBe(true);
      expect(await button.getAttribute('title')).toBe(reason);
    }
    await accessible('pools-as-viewer');
    await ui.p.client.call('deletePool', { params: { id: 'quiet' } });
  });
});

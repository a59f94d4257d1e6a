import { describe, expect, it } from 'vitest';
import type { Vm } from '@hearth/contract';
import { useDashboard } from '../helpers/dashboard.ts';

const STEP = { timeout: 180_000 };
/** The manager's schedule clock runs this far ahead of the real one. */
let ahead = 0;

// Snapshot schedules in the dashboard (real Chromium, real platform): a schedule created from the
// Snapshots page (a bad cron refused by the API first, shown at its input), edited, disabled (it
// does not fire when its time passes), enabled again, fired on the injected clock at a VM that was
// never started (the failure shows as the last error), one for a label selector, then deleted.
// No VM boots: what is checked here is the page; the runs themselves are in
// snapshot-schedules.test.ts.
describe('web dashboard: snapshot schedules', () => {
  const ui = useDashboard({
    signedIn: true,
    platform: {
      manager: { schedules: { clock: () => new Date(Date.now() + ahead), intervalMs: 3_600_000 } },
    },
  });
  const { heading, accessible } = ui;
  let vm: Vm;
  const row = (name: string) => ui.page.locator(`tr[data-schedule="${name}"]`);
  const schedule = (id: string) => ui.p.client.call('getSchedule', { params: { id } });
  const dialog = () => ui.page.getByRole('dialog');

  it('creates a disk-only schedule for a VM, after the API refused a bad cron', STEP, async () => {
    vm = await ui.p.client.call('createVm', { body: { name: 'web-sched-vm', start: false } });
    await ui.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Snapshots' }).click();
    await heading('Snapshots').waitFor();
    await ui.page.getByText('No snapshot schedules').waitFor();
    await ui.page.getByRole('button', { name: 'New schedule' }).click();
    await dialog().getByLabel('Schedule name', { exact: true }).fill('nightly');
    await dialog().getByLabel('VM', { exact: true }).selectOption(vm.id);
    await dialog().getByLabel('Cron (UTC)', { exact: true }).fill('61 3 * * *');
    await dialog().getByLabel('Keep (count)', { exact: true }).fill('3');
    await dialog()
      .getByLabel(/^Disk only/)
      .check();
    await dialog().getByRole('button', { name: 'Create' }).click();
    await dialog().getByTestId('field-error').first().waitFor();
    expect(await dialog().getByLabel('Cron (UTC)', { exact: true }).getAttribute('aria-invalid')).toBe(
      'true',
    );
    await accessible('schedules-create-refused');
    expect(await ui.p.client.all('listSchedules')).toEqual([]);

    await dialog().getByLabel('Cron (UTC)', { exact: true }).fill('0 3 * * *');
    await dialog().getByRole('button', { name: 'Create' }).click();
    await row('nightly').waitFor();
    const [s] = await ui.p.client.all('listSchedules');
    expect(s).toMatchObject({ name: 'nightly', vm: vm.id, memory: false, retention: { count: 3 } });
    await row('nightly').getByRole('cell', { name: 'disk', exact: true }).waitFor();
    await row('nightly').getByRole('link', { name: 'web-sched-vm' }).waitFor();
    expect(await row('nightly').getByTestId('schedule-next').textContent()).not.toMatch(/disabled|—/);
    await accessible('schedules');
  });

  it('edits it, disables it (its time passes without a run) and enables it again', STEP, async () => {
    await row('nightly').getByRole('button', { name: 'Edit nightly' }).click();
    await dialog().getByLabel('Cron (UTC)', { exact: true }).fill('30 2 * * *');
    await dialog().getByLabel('Keep (max age)', { exact: true }).fill('3d');
    await accessible('schedules-edit');
    await dialog().getByRole('button', { name: 'Save' }).click();
    await row('nightly').getByRole('cell', { name: '30 2 * * *' }).waitFor();
    const edited = await schedule('nightly');
    expect(edited).toMatchObject({
      cron: '30 2 * * *',
      retention: { count: 3, maxAge: '3d' },
      memory: false,
    });
    expect(new Date(edited.nextRunAt!).getUTCHours()).toBe(2);

    await row('nightly').getByRole('button', { name: 'Disable nightly' }).click();
    await row('nightly')
      .getByTestId('schedule-next')
      .filter({ hasText: /^disabled$/ })
      .waitFor();
    expect(await schedule('nightly')).toMatchObject({ enabled: false, nextRunAt: null });
    ahead += 2 * 86_400_000;
    expect((await ui.p.manager.schedules.runDue()).ran).toEqual([]);

    await row('nightly').getByRole('button', { name: 'Enable nightly' }).click();
    await row('nightly').getByRole('button', { name: 'Disable nightly' }).waitFor();
    const on = await schedule('nightly');
    expect(on.enabled).toBe(true);
    // From the clock's now, not from when it was disabled: no run is owed for the days it was off.
    expect(Date.parse(on.nextRunAt!)).toBeGreaterThan(Date.now() + ahead);
  });

  it('shows a failed run as the last error', STEP, async () => {
    ahead = Date.parse((await schedule('nightly')).nextRunAt!) + 1000 - Date.now();
    const r = await ui.p.manager.schedules.runDue();
    expect(r.failed).toEqual([{ vm: vm.id, error: expect.stringContaining('created') }]);
    await ui.page.reload();
    await row('nightly')
      .getByTestId('schedule-error')
      .filter({ hasText: /web-sched-vm: .*it is created/ })
      .waitFor();
    expect(await row('nightly').getByTestId('schedule-last').textContent()).not.toBe('—');
  });

  it('creates a schedule for a label selector, and deletes both', STEP, async () => {
    await ui.page.getByRole('button', { name: 'New schedule' }).click();
    await dialog().getByLabel('Schedule name', { exact: true }).fill('web-tier');
    await dialog().getByLabel('Snapshot', { exact: true }).selectOption('selector');
    await dialog().getByLabel('Labels', { exact: true }).fill('tier=web, env=prod');
    await dialog().getByLabel('Cron (UTC)', { exact: true }).fill('0 * * * *');
    await dialog().getByRole('button', { name: 'Create' }).click();
    await row('web-tier').getByRole('cell', { name: 'env=prod, tier=web' }).waitFor();
    expect(await schedule('web-tier')).toMatchObject({
      vm: null,
      selector: { tier: 'web', env: 'prod' },
      memory: true,
    });
    for (const name of ['web-tier', 'nightly']) {
      await row(name)
        .getByRole('button', { name: `Delete ${name}` })
        .click();
      await dialog().getByRole('button', { name: 'Delete' }).click();
      await row(name).waitFor({ state: 'detached' });
    }
    expect(await ui.p.client.all('listSchedules')).toEqual([]);
    await ui.page.getByText('No snapshot schedules').waitFor();
  });
});

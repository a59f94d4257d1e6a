import { describe, expect, it } from 'vitest';
import type { VmSample } from '@hearth/contract';
import { useDashboard } from '../helpers/dashboard.ts';

// The dashboard's charts open with what the manager kept (real Chromium, real platform): a VM with
// a day of samples recorded while no page was open (the manager's clock moved through the day)
// shows them in its Metrics tab, and a host's "Last 24 hours" shows its kept heartbeats.
const offset = { ms: -24 * 3600_000 };

describe('web dashboard: metrics history', () => {
  const ui = useDashboard({ signedIn: true, platform: { manager: { now: () => Date.now() + offset.ms } } });

  it("shows a VM's kept day in its Metrics tab when it opens", async () => {
    const vm = await ui.p.client.call('createVm', { body: { name: 'history-web', start: false } });
    const sample = (): VmSample => ({
      id: vm.id,
      at: new Date(Date.now() + offset.ms).toISOString(),
      cpuPercent: 25,
      memUsedBytes: 64 * 2 ** 20,
      memTotalBytes: 128 * 2 ** 20,
      diskUsedBytes: 2 ** 28,
      diskTotalBytes: 2 ** 30,
      rxBytesPerSec: 100,
      txBytesPerSec: 50,
    });
    // A sample every 30 s through the day: one-minute averages for the day, 30 s in the last hour.
    for (; offset.ms < 0; offset.ms += 30_000) await ui.p.manager.history.recordVms([sample()]);
    offset.ms = 0;
    await ui.page.goto(`${ui.p.manager.url}/vms/${vm.id}/metrics`);
    const status = ui.page.getByRole('status').filter({ hasText: /kept samples/ });
    await status.waitFor();
    const kept = Number(/(\d+) kept samples/.exec((await status.textContent()) ?? '')?.[1]);
    // The day's minutes (less the last hour's) and the last hour at 30 s.
    expect(kept).toBeGreaterThanOrEqual(1380 + 110);
    expect(await ui.page.locator('canvas').count()).toBeGreaterThanOrEqual(4);
    await ui.accessible('vm-metrics-history');
  });

  it("shows a host's kept samples under Last 24 hours", async () => {
    await ui.page.goto(`${ui.p.manager.url}/hosts`);
    await ui.page.getByText('Last 24 hours').click();
    await ui.page
      .getByRole('status')
      .filter({ hasText: /\d+ samples kept/ })
      .waitFor({ timeout: 60_000 });
    // CPU, memory and allocation.
    expect(await ui.page.locator('canvas').count()).toBeGreaterThanOrEqual(3);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Container } from '@hearth/contract';
import { makeUser } from '../helpers/identity.ts';
import { pushTestImage, startRegistry, type LocalRegistry } from '../helpers/oci.ts';
import { BOOT_MS, useDashboard } from '../helpers/dashboard.ts';
import { freePort } from '../helpers/proc.ts';

/**
 * A pull from the loopback registry, the import into an ext4 image (hashed and stored), and a
 * boot: on two busy shared cores the import alone took minutes.
 */
const RUN_MS = 5 * BOOT_MS;
const STEP = { timeout: RUN_MS + 120_000 };

/** The app: greets, then prints what is written to /tmp/say each time the file appears. */
const APP = `#!/bin/sh
echo "hello-app: GREETING=$GREETING"
while :; do
  if [ -f /tmp/say ]; then echo "app says: $(cat /tmp/say)"; /bin/busybox rm -f /tmp/say; fi
  sleep 1
done
`;

// Containers in the dashboard (real Chromium, real platform, one real microVM): the run form
// refuses bad input next to its inputs (nothing is created), then runs the test image from the
// local registry with an env variable and a published port; its page links its VM; the list shows
// it running with its image and port; its Events tab shows the pull and the start, Inspect the
// record; its Logs tab follows the app's output, its Exec tab runs a command in it, its Stats tab
// charts its use; it is stopped (exited, and the stop in its events, shown live), a viewer sees the
// write buttons disabled with the reason, and it is removed from the list after a confirmation.
// Every wait is on a DOM state.
describe('web dashboard: containers', () => {
  const ui = useDashboard({
    signedIn: true,
    // The registry listens on loopback, which imports refuse unless allowed.
    platform: { manager: { importAllow: ['127.0.0.0/8'] } },
  });
  const { heading, accessible } = ui;
  let reg: LocalRegistry;
  let ref: string;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    reg = await startRegistry();
    ref = await pushTestImage(reg.host, 'web/hello', 'v1', { script: APP });
  }, 120_000);
  afterAll(async () => {
    await reg?.dispose();
  });

  const nav = (name: string) =>
    ui.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
  const row = () => ui.page.locator('tr[data-container="web-hello"]');
  /** The container reaching a state on screen; on a timeout, its record as the API sees it. */
  const reach = async (state: string | RegExp, where = ui.page.locator('body')) => {
    await where
      .getByTestId('container-state')
      .filter({ hasText: typeof state === 'string' ? new RegExp(`^${state}`) : state })
      .waitFor({ timeout: RUN_MS })
      .catch(async (e: unknown) => {
        const c = await ui.p.client.call('getContainer', { params: { id: 'web-hello' } }).catch((x) => x);
        throw new Error(`${(e as Error).message}\ncontainer: ${JSON.stringify(c)}`);
      });
  };

  it('refuses bad input next to the inputs, then runs the image from the registry', STEP, async () => {
    await nav('Containers').click();
    await heading('Containers').waitFor();
    await ui.page.getByText('No containers yet').waitFor();
    await ui.page.getByRole('link', { name: 'Run container' }).click();
    await heading('Run a container').waitFor();
    const input = (label: string) => ui.page.getByLabel(label, { exact: true });
    // Refused before anything is sent: a malformed port line, a bad name and variable (the
    // contract's own rules), a health check without its port.
    await input('Image').fill(ref);
    await input('Name').fill('Web_Hello');
    await input('Ports').fill('8080');
    await input('Environment').fill('1GREETING=x');
    await input('Check').selectOption('tcp');
    await ui.page.getByRole('button', { name: 'Run container' }).click();
    await ui.page.getByTestId('field-error').filter({ hasText: 'write HOST:CONTAINER' }).waitFor();
    for (const label of ['Name', 'Ports', 'Environment', 'Port'])
      expect(await input(label).getAttribute('aria-invalid'), label).toBe('true');
    await ui.page.getByTestId('field-error').filter({ hasText: 'an environment variable name' }).waitFor();
    await accessible('containers-run-refused');
    expect((await ui.p.client.call('listContainers', { query: { all: 'true' } })).items).toEqual([]);

    await input('Name').fill('web-hello');
    await input('Ports').fill(`${port}:8080`);
    await input('Environment').fill('GREETING=from the dashboard');
    await input('Check').selectOption('');
    await ui.page.getByRole('button', { name: 'Run container' }).click();
    // The page moves to the new container, which pulls, boots and runs.
    await heading(/^web-hello/).waitFor();
    await reach('running');
    await accessible('container-detail');
    const c = (await ui.p.client.call('getContainer', { params: { id: 'web-hello' } })) as Container;
    expect(c).toMatchObject({
      image: ref,
      state: 'running',
      env: { GREETING: 'from the dashboard' },
      ports: [{ host: port, container: 8080, protocol: 'tcp' }],
    });
    expect(c.vm).not.toBeNull();
    // Its VM is linked by name, to the VM's own page.
    const vm = await ui.p.client.call('getVm', { params: { id: c.vm! } });
    const link = ui.page.getByTestId('container-vm');
    await link.filter({ hasText: vm.name }).waitFor();
    expect(await link.getAttribute('href')).toBe(`/vms/${vm.id}`);
  });

  it('lists it running with its image and port', STEP, async () => {
    await nav('Containers').click();
    await row().waitFor();
    await reach('running', row());
    expect(await row().locator('td').nth(2).innerText()).toBe(ref);
    expect(await row().getByTestId('container-ports').innerText()).toBe(`${port}→8080/tcp`);
    expect(await row().getByTestId('container-uptime').innerText()).toMatch(/^Up \d/);
    expect(await row().getByTestId('container-restarts').innerText()).toBe('0');
    await accessible('containers');
  });

  it('shows its events and its record', STEP, async () => {
    await row().getByRole('link', { name: 'web-hello' }).click();
    await heading(/^web-hello/).waitFor();
    await ui.page.getByRole('tab', { name: 'Events' }).click();
    const events = ui.page.getByRole('table', { name: 'Container events' });
    await events
      .locator('tr[data-event="pulled"]')
      .filter({ hasText: `pulled ${ref}` })
      .waitFor();
    await events.locator('tr[data-event="started"]').waitFor();
    await accessible('container-events');
    await ui.page.getByRole('tab', { name: 'Inspect' }).click();
    await ui.page.getByLabel('Container as JSON').getByText('"name": "web-hello"').waitFor();
  });

  it(
    'follows its log: the output so far, then a line the app prints while the tab is open',
    STEP,
    async () => {
      await ui.page.getByRole('tab', { name: 'Logs' }).click();
      const log = ui.page.getByRole('log', { name: 'Container log' });
      await log.getByText('hello-app: GREETING=from the dashboard').waitFor();
      await ui.page
        .getByTestId('logs-status')
        .filter({ hasText: /^Following/ })
        .waitFor();
      expect(await log.getByText('app says:').count()).toBe(0);
      // The app prints the line itself (a file it watches), so it reaches the open stream.
      const r = await ui.p.client.call('containerExec', {
        params: { id: 'web-hello' },
        body: { command: ['/bin/sh', '-c', 'echo followed-line > /tmp/say'] },
      });
      expect(r.exitCode, r.stderr).toBe(0);
      await log.getByText('app says: followed-line').waitFor({ timeout: RUN_MS });
      await ui.page
        .getByTestId('logs-status')
        .filter({ hasText: /^Following.* 2 lines$/ })
        .waitFor();
      await accessible('container-logs');
    },
  );

  it('runs a command in its Exec tab and shows the output', STEP, async () => {
    await ui.page.getByRole('tab', { name: 'Exec' }).click();
    await ui.page.getByLabel('Command').fill('echo "exec says $((6 * 7)) from $(pwd)"');
    await ui.page.getByRole('button', { name: 'Run', exact: true }).click();
    // The output, not the command's text: the shell computed 42 in the image's WORKDIR.
    const rows = ui.page.locator('.xterm-rows');
    await rows
      .filter({ hasText: 'exec says 42 from /srv' })
      .waitFor()
      .catch(async (e: unknown) => {
        const status = await ui.page.getByTestId('terminal-status').innerText();
        const text = await rows.innerText();
        throw new Error(`${(e as Error).message}\nstatus: ${status}\nterminal: ${JSON.stringify(text)}`);
      });
    await ui.page.getByTestId('terminal-status').filter({ hasText: 'the shell exited (0)' }).waitFor();
    await accessible('container-exec');
  });

  it('charts its CPU and memory in the Stats tab', STEP, async () => {
    await ui.page.getByRole('tab', { name: 'Stats' }).click();
    const status = ui.page.getByTestId('stats-status');
    // Two samples make the first rates; the numbers are the guest's own measurements.
    await status.filter({ hasText: / · [2-9]\d* samples/ }).waitFor({ timeout: RUN_MS });
    const text = await status.innerText();
    const m = /^Now: CPU (\d+)%, memory ([\d.]+) (\w+) of ([\d.]+) (\w+), (\d+) processes/.exec(text);
    expect(m, text).not.toBeNull();
    expect(Number(m![2])).toBeGreaterThan(0);
    expect(Number(m![6])).toBeGreaterThan(0);
    for (const title of ['CPU', 'Memory', 'Network', 'Disk I/O']) {
      const chart = ui.page.locator('figure').filter({ has: ui.page.getByText(title, { exact: true }) });
      await chart.locator('canvas').waitFor();
    }
    await accessible('container-stats');
  });

  it('stops it, shows it exited, and disables a viewer’s buttons with the reason', STEP, async () => {
    await ui.page.getByRole('button', { name: 'Stop', exact: true }).click();
    await ui.page.getByRole('dialog').getByRole('button', { name: 'Stop' }).click();
    await reach(/^exited/);
    await ui.page.getByRole('button', { name: 'Start', exact: true }).waitFor();
    // The stop is in its events, shown without a reload.
    await ui.page.getByRole('tab', { name: 'Events' }).click();
    await ui.page
      .getByRole('table', { name: 'Container events' })
      .locator('tr[data-event="stop"]')
      .filter({ hasText: 'by ' })
      .waitFor();

    const viewer = await makeUser(ui.p.manager.stores, { name: 'ctr-viewer', roles: { default: 'viewer' } });
    await ui.page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await ui.page.getByLabel('API token').fill(viewer.token);
    await ui.page.getByRole('button', { name: 'Sign in with token' }).click();
    await ui.page.getByTestId('whoami').filter({ hasText: 'ctr-viewer' }).waitFor();
    await nav('Containers').click();
    await row().waitFor();
    const reason = 'Needs the operator role in project default; you have viewer.';
    for (const button of [
      ui.page.getByRole('button', { name: 'Run container', exact: true }),
      row().getByRole('button', { name: 'Start web-hello', exact: true }),
      row().getByRole('button', { name: 'Remove web-hello', exact: true }),
    ]) {
      expect(await button.isDisabled()).toBe(true);
      expect(await button.getAttribute('title')).toBe(reason);
    }
    await accessible('containers-as-viewer');
    await ui.page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await ui.page.getByLabel('API token').fill(ui.p.manager.adminToken);
    await ui.page.getByRole('button', { name: 'Sign in with token' }).click();
    await nav('Containers').waitFor();
  });

  it('removes it after a confirmation', STEP, async () => {
    await nav('Containers').click();
    await row().getByRole('button', { name: 'Remove web-hello', exact: true }).click();
    await ui.page.getByRole('dialog').getByText('Its VM and record are removed.').waitFor();
    await ui.page.getByRole('dialog').getByRole('button', { name: 'Remove' }).click();
    await row().waitFor({ state: 'detached', timeout: RUN_MS });
    await ui.page.getByText('No containers yet').waitFor();
    expect((await ui.p.client.call('listContainers', { query: { all: 'true' } })).items).toEqual([]);
    expect((await ui.p.client.all('listVms')).filter((v) => v.state !== 'deleting')).toEqual([]);
  });
});

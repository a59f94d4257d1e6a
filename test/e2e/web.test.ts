import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testVmm } from '../helpers/platform.ts';
import { screenshot } from '../helpers/browser.ts';
import { BOOT_MS, useDashboard } from '../helpers/dashboard.ts';

// The dashboard in a real Chromium against a real platform (manager + agent + QEMU VMs). Every
// wait is on a DOM state; the VM's state changes arrive through the event stream, never a reload.
// The tests share one page and build on each other: the VM the wizard makes is used until the end.
// Networks and templates on networks: web-networks.test.ts.
describe('web dashboard', () => {
  // The URL import test serves its image from a loopback web server: the import guard refuses
  // loopback unless the operator allows it.
  const ui = useDashboard({ platform: { manager: { importAllow: ['127.0.0.1/32'] } } });
  const { state, heading, accessible } = ui;
  let vmId = '';

  it('signs in with a token, and the session survives a reload', async () => {
    await ui.page.goto(ui.p.manager.url);
    await ui.page.getByLabel('API token').fill('hth_wrong');
    await ui.page.getByRole('button', { name: 'Sign in with token' }).click();
    await ui.page.getByTestId('field-error').filter({ hasText: 'token is not valid' }).waitFor();
    await accessible('sign-in');
    await ui.page.getByLabel('API token').fill(ui.p.manager.adminToken);
    await ui.page.getByRole('button', { name: 'Sign in with token' }).click();
    await heading('Dashboard').waitFor();
    await ui.page.reload();
    await heading('Dashboard').waitFor();
    await ui.page.getByTestId('stream-status').filter({ hasText: 'Live' }).waitFor();
    await ui.page.getByText('Host capacity').waitFor();
    await accessible('dashboard');
  });

  it('creates a VM through the wizard, with client and API errors next to their fields', async () => {
    // A name the API will refuse as taken: the wizard cannot know that before sending.
    await ui.p.client.call('createVm', { body: { name: 'taken', start: false } });
    await ui.page.getByRole('link', { name: 'VMs', exact: true }).click();
    await ui.page.locator('tr[data-vm="taken"]').waitFor();
    await accessible('vm-list');
    await ui.page.getByRole('link', { name: 'Create VM' }).click();
    await ui.page.getByLabel('Name').fill('Bad_Name');
    await ui.page.getByRole('button', { name: 'Next' }).click();
    await ui.page.getByTestId('field-error').filter({ hasText: 'lowercase' }).waitFor();
    await ui.page.getByLabel('Name').fill('taken');
    for (const step of ['Resources', 'Boot source', 'Network', 'Credentials & review']) {
      await ui.page.getByRole('button', { name: 'Next' }).click();
      await ui.page.getByRole('heading', { name: new RegExp(`: ${step}$`) }).waitFor();
      if (step === 'Resources' && testVmm()) await ui.page.getByLabel('VMM').selectOption(testVmm()!);
      if (step === 'Boot source') await accessible('create-boot-source');
    }
    await accessible('create-review');
    await ui.page.getByRole('button', { name: 'Create VM' }).click();
    // VM_NAME_TAKEN comes back on step 1, next to the name.
    await ui.page.getByTestId('field-error').filter({ hasText: /taken/ }).waitFor();
    await ui.page.getByRole('heading', { name: /: Basics$/ }).waitFor();
    await ui.page.getByLabel('Name').fill('web-e2e');
    for (let i = 0; i < 4; i++) await ui.page.getByRole('button', { name: 'Next' }).click();
    await ui.page.getByRole('button', { name: 'Create VM' }).click();
    await ui.page.waitForURL(/\/vms\/vm_/);
    vmId = new URL(ui.page.url()).pathname.split('/')[2]!;
    await state('running').waitFor({ timeout: BOOT_MS });
    await ui.page.getByText(/^10\.\d+\.\d+\.\d+$/).waitFor();
    await accessible('vm-overview');
  });

  it('opens a shell in the terminal and runs uname -a in the guest', async () => {
    await ui.page.getByRole('tab', { name: 'Terminal' }).click();
    await ui.page.getByTestId('terminal-status').filter({ hasText: 'connected' }).waitFor();
    await ui.page.getByTestId('terminal').click();
    await ui.page.keyboard.type('uname -a\n');
    await ui.page
      .locator('.xterm-rows')
      .filter({ hasText: /Linux web-e2e 6\.1\.\d+-hearth/ })
      .waitFor();
    await accessible('vm-terminal');
    await ui.page.getByRole('button', { name: 'Serial console' }).click();
    await ui.page.getByTestId('terminal-status').filter({ hasText: 'connected' }).waitFor();
    await ui.page.locator('.xterm-rows').filter({ hasText: 'hearth-guest' }).waitFor();
  });

  it('pauses and resumes, with the state following live', async () => {
    await ui.page.getByRole('button', { name: 'Pause' }).click();
    await state('paused').waitFor({ timeout: BOOT_MS });
    await ui.page.getByRole('button', { name: 'Resume' }).click();
    await state('running').waitFor({ timeout: BOOT_MS });
  });

  it('shows live metrics, events and logs', async () => {
    await ui.page.getByRole('tab', { name: 'Metrics' }).click();
    // The kept 24 h (none yet for a new VM), then the live samples the page streams.
    await ui.page.getByText(/ kept samples \(last 24 h\), then [2-9]\d* live/).waitFor();
    await accessible('vm-metrics');
    await ui.page.getByRole('tab', { name: 'Events & logs' }).click();
    await ui.page.getByRole('cell', { name: 'paused → resuming' }).waitFor();
    await ui.page.getByLabel('Serial console log').waitFor();
    await accessible('vm-events');
  });

  it('takes a snapshot from the Snapshots tab, and clones it into a VM that reaches running live', async () => {
    await ui.page.getByRole('tab', { name: 'Snapshots' }).click();
    await ui.page.getByText('No snapshots of this VM yet').waitFor();
    await ui.page.getByLabel('Snapshot name').fill('web-snap');
    await ui.page.getByRole('button', { name: 'Take snapshot' }).click();
    const row = ui.page.locator('tr[data-snapshot="web-snap"]');
    // Listed with its size on disk (memory state plus the sparse disk copy: never zero).
    await row
      .getByTestId('snapshot-size')
      .filter({ hasText: /^\d+(\.\d)? (KiB|MiB|GiB)$/ })
      .waitFor({ timeout: BOOT_MS });
    await row.getByRole('cell', { name: /^(qemu|firecracker) \S+/ }).waitFor();
    await state('running').waitFor();
    await accessible('vm-snapshots');
    await row.getByRole('button', { name: 'Clone web-snap' }).click();
    await ui.page.getByRole('dialog').getByLabel('Name of the new VM').fill('web-clone');
    await accessible('vm-snapshot-clone-dialog');
    await ui.page.getByRole('dialog').getByRole('button', { name: 'Clone' }).click();
    await heading(/^web-clone/).waitFor();
    expect(new URL(ui.page.url()).pathname).not.toContain(vmId);
    await state('running').waitFor({ timeout: BOOT_MS });
    await accessible('vm-clone');
  });

  it('restores the original VM to its snapshot in place, after confirming', async () => {
    await ui.page.goto(`${ui.p.manager.url}/vms/${vmId}/snapshots`);
    await ui.page.getByRole('button', { name: 'Restore here web-snap' }).click();
    await ui.page.getByRole('dialog').getByText('current memory and disk are replaced').waitFor();
    await ui.page.getByRole('dialog').getByRole('button', { name: 'Restore' }).click();
    await ui.page.getByRole('tab', { name: 'Events & logs' }).click();
    await ui.page.getByRole('cell', { name: 'restoring snapshot web-snap' }).waitFor({ timeout: BOOT_MS });
    await state('running').waitFor({ timeout: BOOT_MS });
  });

  it('lists snapshots with lineage and the VM they were taken of', async () => {
    await ui.page.getByRole('link', { name: 'Snapshots' }).click();
    const row = ui.page.locator('tr[data-snapshot="web-snap"]');
    await row.getByRole('link', { name: 'web-e2e' }).waitFor();
    await row.getByRole('button', { name: 'Clone web-snap' }).waitFor();
    await accessible('snapshots');
  });

  it('saves a VM as a template, lists it, and checks a new template with the contract schema', async () => {
    await ui.page.goto(`${ui.p.manager.url}/vms/${vmId}`);
    await ui.page.getByRole('button', { name: 'Save as template' }).click();
    await ui.page.getByRole('dialog').getByLabel('Template name').fill('web-tpl');
    await ui.page.getByRole('dialog').getByRole('button', { name: 'Save template' }).click();
    await ui.page.getByTestId('template-saved').filter({ hasText: 'web-tpl' }).waitFor();
    await ui.page.getByTestId('template-saved').getByRole('link', { name: 'web-tpl' }).click();
    await heading('Templates').waitFor();
    await ui.page
      .locator('tr[data-template="web-tpl"]')
      .getByRole('cell', { name: /1 vCPU, 128 MiB/ })
      .waitFor();
    await ui.page
      .locator('tr[data-template="web-tpl"]')
      .getByTestId('template-networks')
      .filter({ hasText: /^default$/ })
      .waitFor();
    await accessible('templates');
    await ui.page.getByRole('button', { name: 'New template' }).click();
    await ui.page.getByLabel('Template name').fill('Bad Name');
    await ui.page.getByLabel('vCPUs').fill('0');
    await ui.page.getByRole('button', { name: 'Save template' }).click();
    await ui.page.getByTestId('field-error').filter({ hasText: 'lowercase' }).waitFor();
    await ui.page.getByTestId('field-error').filter({ hasText: /1/ }).first().waitFor();
    await accessible('templates-new');
    await ui.page.getByRole('button', { name: 'Cancel' }).click();
  });

  it('creates a volume and attaches it only to a stopped VM on its host', async () => {
    await ui.page.getByRole('link', { name: 'Volumes' }).click();
    await ui.page.getByText('No volumes yet').waitFor();
    await ui.page.getByLabel('Volume name').fill('web-data');
    await ui.page.getByLabel('Size').fill('256mib');
    await ui.page.getByRole('button', { name: 'Create volume' }).click();
    const row = ui.page.locator('tr[data-volume="web-data"]');
    await row.getByRole('cell', { name: '256 MiB' }).waitFor({ timeout: BOOT_MS });
    await accessible('volumes');
    await row.getByRole('button', { name: 'Attach web-data' }).click();
    const dialog = ui.page.getByRole('dialog');
    // The running VM is listed but refused, with the reason; the never-started one is offered.
    await dialog
      .locator('option', { hasText: 'web-e2e — running; stop it first' })
      .waitFor({ state: 'attached' });
    expect(await dialog.locator('option', { hasText: 'web-e2e' }).isDisabled()).toBe(true);
    await dialog.getByTestId('attach-refused').getByText('web-e2e: running; stop it first').waitFor();
    await accessible('volumes-attach-dialog');
    await dialog.getByLabel('VM').selectOption({ label: 'taken' });
    await dialog.getByRole('button', { name: 'Attach' }).click();
    await row.getByTestId('volume-attached').getByRole('link', { name: 'taken' }).waitFor();
    expect(await row.getByRole('button', { name: 'Delete web-data' }).isDisabled()).toBe(true);
    await row.getByText('attached to taken; detach it first').waitFor();
    await row.getByTestId('volume-attached').getByRole('link', { name: 'taken' }).click();
    await ui.page
      .getByRole('table', { name: 'Attached volumes' })
      .getByRole('cell', { name: 'web-data' })
      .waitFor();
    await accessible('vm-storage');
  });

  it('lists images and hosts; searches and filters VMs; both themes and tablet width', async () => {
    await ui.page.getByRole('link', { name: 'Images' }).click();
    await ui.page.getByRole('cell', { name: /^base/ }).first().waitFor();
    // Built-in images are never deleted; the page says why instead of failing on click.
    expect(await ui.page.getByRole('button', { name: 'Delete base', exact: true }).isDisabled()).toBe(true);
    await ui.page.getByText('Upload an image').waitFor();
    await accessible('images');
    await ui.page.getByRole('link', { name: 'Hosts' }).click();
    await ui.page.getByText('vCPUs allocated').first().waitFor();
    await accessible('hosts');
    await ui.page.getByRole('button', { name: 'Dark theme' }).click();
    await ui.page.getByRole('link', { name: 'VMs', exact: true }).click();
    await ui.page.locator('tr[data-vm="web-e2e"]').waitFor();
    await accessible('vm-list-dark');
    // "/" focuses the search box; the term is then set in one change, and the list follows it.
    await ui.page.keyboard.press('/');
    const searchBox = ui.page.getByPlaceholder(/Search/);
    expect(await searchBox.evaluate((el) => el === document.activeElement)).toBe(true);
    await searchBox.fill('taken');
    await ui.page.locator('tr[data-vm="web-e2e"]').waitFor({ state: 'detached' });
    await ui.page.locator('tr[data-vm="taken"]').waitFor();
    await ui.page.getByLabel('State').selectOption('running');
    await ui.page.getByText('No VM matches these filters').waitFor();
    await ui.page.getByLabel('State').selectOption('');
    await ui.page.getByPlaceholder(/Search/).fill('');
    await ui.page.locator('tr[data-vm="web-e2e"]').waitFor();
    await ui.page.setViewportSize({ width: 820, height: 1100 });
    await screenshot(ui.page, 'vm-list-tablet');
    await ui.page.setViewportSize({ width: 1280, height: 860 });
    await ui.page.getByRole('button', { name: 'Light theme' }).click();
  });

  it('uploads an image with progress, imports one from a URL with streamed progress, deletes both', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-web-img-'));
    const file = join(dir, 'disk.ext4');
    execFileSync('mkfs.ext4', ['-q', '-F', file, '16M']);
    const disk = await readFile(file);
    await rm(dir, { recursive: true });
    await ui.page.getByRole('link', { name: 'Images', exact: true }).click();
    await ui.page
      .getByLabel('File')
      .setInputFiles({ name: 'disk.ext4', mimeType: 'application/octet-stream', buffer: disk });
    await ui.page.getByLabel('Image name').fill('web-upload');
    await ui.page.getByRole('button', { name: 'Upload', exact: true }).click();
    await ui.page
      .getByRole('status')
      .filter({ hasText: 'Uploaded web-upload (16.0 MiB)' })
      .waitFor({ timeout: BOOT_MS });
    await ui.page.locator('tr[data-image="web-upload"]').getByRole('cell', { name: 'ready' }).waitFor();

    // A web server that sends half the image, then waits until the page shows the import's progress.
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const srv = createServer((_req, res) => {
      res.writeHead(200, { 'content-length': String(disk.length) });
      res.write(disk.subarray(0, 9 * 2 ** 20));
      void released.then(() => res.end(disk.subarray(9 * 2 ** 20)));
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/disk.ext4`;
      await ui.page.getByLabel('OCI reference or URL').fill(url);
      await ui.page.getByLabel('Name (optional)').fill('web-url');
      await ui.page.getByRole('button', { name: 'Import', exact: true }).click();
      await ui.page
        .getByRole('progressbar', { name: /^Downloading — (8|9)\.\d MiB of 16\.0 MiB$/ })
        .waitFor({ timeout: BOOT_MS });
      await accessible('images-import-progress');
      release();
      await ui.page
        .getByRole('status')
        .filter({ hasText: 'Imported web-url (16.0 MiB)' })
        .waitFor({ timeout: BOOT_MS });
    } finally {
      release();
      srv.close();
    }
    for (const name of ['web-upload', 'web-url']) {
      await ui.page.getByRole('button', { name: `Delete ${name}`, exact: true }).click();
      await ui.page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
      await ui.page.locator(`tr[data-image="${name}"]`).waitFor({ state: 'detached' });
    }
  });

  it('deletes VMs: one from its page, the rest in bulk from the list, after confirming', async () => {
    await ui.page.goto(`${ui.p.manager.url}/vms/${vmId}`);
    await ui.page.getByRole('button', { name: 'Delete' }).click();
    await ui.page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await ui.page.waitForURL(/\/vms$/);
    await ui.page.locator('tr[data-vm="web-e2e"]').waitFor({ state: 'detached', timeout: BOOT_MS });
    await ui.page.getByLabel('Select taken').check();
    await ui.page.getByLabel('Select web-clone').check();
    await ui.page.getByRole('button', { name: 'Delete (2)' }).click();
    await ui.page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await ui.page.getByText('No VMs yet').waitFor({ timeout: BOOT_MS });
    expect((await ui.p.client.call('listVms')).items).toEqual([]);
  });
});

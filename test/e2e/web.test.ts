import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startPlatform, testVmm, type Platform } from '../helpers/platform.ts';
import { axeViolations, ensureWebBuild, launchChromium, screenshot } from '../helpers/browser.ts';

const BOOT_MS = 120_000;

// The dashboard in a real Chromium against a real platform (manager + agent + QEMU VMs). Every
// wait is on a DOM state; the VM's state changes arrive through the event stream, never a reload.
describe('web dashboard', () => {
  let p: Platform;
  let browser: Browser;
  let page: Page;
  let vmId = '';

  const state = (s: string) => page.getByTestId('vm-state').filter({ hasText: new RegExp(`^${s}$`) });
  const heading = (name: string | RegExp) => page.getByRole('heading', { level: 1, name });
  const accessible = async (name: string) => {
    await screenshot(page, name);
    expect(await axeViolations(page), `accessibility of ${name}`).toEqual([]);
  };

  beforeAll(async () => {
    ensureWebBuild();
    p = await startPlatform();
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    page.setDefaultTimeout(30_000);
  });
  afterAll(async () => {
    await browser?.close();
    await p?.dispose();
  });

  it('signs in with a token, and the session survives a reload', async () => {
    await page.goto(p.manager.url);
    await page.getByLabel('API token').fill('hth_wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('field-error').filter({ hasText: 'token is not valid' }).waitFor();
    await accessible('sign-in');
    await page.getByLabel('API token').fill(p.manager.adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await heading('Dashboard').waitFor();
    await page.reload();
    await heading('Dashboard').waitFor();
    await page.getByTestId('stream-status').filter({ hasText: 'Live' }).waitFor();
    await page.getByText('Host capacity').waitFor();
    await accessible('dashboard');
  });

  it('creates a VM through the wizard, with client and API errors next to their fields', async () => {
    // A name the API will refuse as taken: the wizard cannot know that before sending.
    await p.client.call('createVm', { body: { name: 'taken', start: false } });
    await page.getByRole('link', { name: 'VMs', exact: true }).click();
    await page.locator('tr[data-vm="taken"]').waitFor();
    await accessible('vm-list');
    await page.getByRole('link', { name: 'Create VM' }).click();
    await page.getByLabel('Name').fill('Bad_Name');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByTestId('field-error').filter({ hasText: 'lowercase' }).waitFor();
    await page.getByLabel('Name').fill('taken');
    for (const step of ['Resources', 'Boot source', 'Network', 'Credentials & review']) {
      await page.getByRole('button', { name: 'Next' }).click();
      await page.getByRole('heading', { name: new RegExp(`: ${step}$`) }).waitFor();
      if (step === 'Resources' && testVmm()) await page.getByLabel('VMM').selectOption(testVmm()!);
      if (step === 'Boot source') await accessible('create-boot-source');
    }
    await accessible('create-review');
    await page.getByRole('button', { name: 'Create VM' }).click();
    // VM_NAME_TAKEN comes back on step 1, next to the name.
    await page.getByTestId('field-error').filter({ hasText: /taken/ }).waitFor();
    await page.getByRole('heading', { name: /: Basics$/ }).waitFor();
    await page.getByLabel('Name').fill('web-e2e');
    for (let i = 0; i < 4; i++) await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Create VM' }).click();
    await page.waitForURL(/\/vms\/vm_/);
    vmId = new URL(page.url()).pathname.split('/')[2]!;
    await state('running').waitFor({ timeout: BOOT_MS });
    await page.getByText(/^10\.\d+\.\d+\.\d+$/).waitFor();
    await accessible('vm-overview');
  });

  it('opens a shell in the terminal and runs uname -a in the guest', async () => {
    await page.getByRole('tab', { name: 'Terminal' }).click();
    await page.getByTestId('terminal-status').filter({ hasText: 'connected' }).waitFor();
    await page.getByTestId('terminal').click();
    await page.keyboard.type('uname -a\n');
    await page
      .locator('.xterm-rows')
      .filter({ hasText: /Linux web-e2e 6\.1\.\d+-hearth/ })
      .waitFor();
    await accessible('vm-terminal');
    await page.getByRole('button', { name: 'Serial console' }).click();
    await page.getByTestId('terminal-status').filter({ hasText: 'connected' }).waitFor();
    await page.locator('.xterm-rows').filter({ hasText: 'hearth-guest' }).waitFor();
  });

  it('pauses and resumes, with the state following live', async () => {
    await page.getByRole('button', { name: 'Pause' }).click();
    await state('paused').waitFor({ timeout: BOOT_MS });
    await page.getByRole('button', { name: 'Resume' }).click();
    await state('running').waitFor({ timeout: BOOT_MS });
  });

  it('shows live metrics, events and logs, and says plainly that snapshots are not available', async () => {
    await page.getByRole('tab', { name: 'Snapshots' }).click();
    await page.getByTestId('not-available').filter({ hasText: 'Snapshots are not available' }).waitFor();
    await accessible('vm-snapshots');
    await page.getByRole('tab', { name: 'Metrics' }).click();
    await page.getByText(/^[2-9]\d* samples/).waitFor();
    await accessible('vm-metrics');
    await page.getByRole('tab', { name: 'Events & logs' }).click();
    await page.getByRole('cell', { name: 'paused → resuming' }).waitFor();
    await page.getByLabel('Serial console log').waitFor();
    await accessible('vm-events');
  });

  it('lists images and hosts; searches and filters VMs; both themes and tablet width', async () => {
    await page.getByRole('link', { name: 'Images' }).click();
    await page.getByRole('cell', { name: /^base/ }).first().waitFor();
    await accessible('images');
    await page.getByRole('link', { name: 'Hosts' }).click();
    await page.getByText('vCPUs allocated').first().waitFor();
    await accessible('hosts');
    await page.getByRole('button', { name: 'Dark theme' }).click();
    await page.getByRole('link', { name: 'VMs', exact: true }).click();
    await page.locator('tr[data-vm="web-e2e"]').waitFor();
    await accessible('vm-list-dark');
    await page.keyboard.press('/');
    await page.keyboard.type('tak');
    await page.locator('tr[data-vm="web-e2e"]').waitFor({ state: 'detached' });
    await page.getByLabel('State').selectOption('running');
    await page.getByText('No VM matches these filters').waitFor();
    await page.getByLabel('State').selectOption('');
    await page.getByPlaceholder(/Search/).fill('');
    await page.locator('tr[data-vm="web-e2e"]').waitFor();
    await page.setViewportSize({ width: 820, height: 1100 });
    await screenshot(page, 'vm-list-tablet');
    await page.setViewportSize({ width: 1280, height: 860 });
    await page.getByRole('button', { name: 'Light theme' }).click();
  });

  it('deletes VMs: one from its page, the rest in bulk from the list, after confirming', async () => {
    await page.goto(`${p.manager.url}/vms/${vmId}`);
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.waitForURL(/\/vms$/);
    await page.locator('tr[data-vm="web-e2e"]').waitFor({ state: 'detached', timeout: BOOT_MS });
    await page.getByLabel('Select taken').check();
    await page.getByRole('button', { name: 'Delete (1)' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.getByText('No VMs yet').waitFor({ timeout: BOOT_MS });
    expect((await p.client.call('listVms')).items).toEqual([]);
  });
});

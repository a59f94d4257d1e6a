import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomInt } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

  it('shows live metrics, events and logs', async () => {
    await page.getByRole('tab', { name: 'Metrics' }).click();
    await page.getByText(/^[2-9]\d* samples/).waitFor();
    await accessible('vm-metrics');
    await page.getByRole('tab', { name: 'Events & logs' }).click();
    await page.getByRole('cell', { name: 'paused → resuming' }).waitFor();
    await page.getByLabel('Serial console log').waitFor();
    await accessible('vm-events');
  });

  it('takes a snapshot from the Snapshots tab, and clones it into a VM that reaches running live', async () => {
    await page.getByRole('tab', { name: 'Snapshots' }).click();
    await page.getByText('No snapshots of this VM yet').waitFor();
    await page.getByLabel('Snapshot name').fill('web-snap');
    await page.getByRole('button', { name: 'Take snapshot' }).click();
    const row = page.locator('tr[data-snapshot="web-snap"]');
    // Listed with its size on disk (memory state plus the sparse disk copy: never zero).
    await row
      .getByTestId('snapshot-size')
      .filter({ hasText: /^\d+(\.\d)? (KiB|MiB|GiB)$/ })
      .waitFor({ timeout: BOOT_MS });
    await row.getByRole('cell', { name: /^(qemu|firecracker) \S+/ }).waitFor();
    await state('running').waitFor();
    await accessible('vm-snapshots');
    await row.getByRole('button', { name: 'Clone web-snap' }).click();
    await page.getByRole('dialog').getByLabel('Name of the new VM').fill('web-clone');
    await accessible('vm-snapshot-clone-dialog');
    await page.getByRole('dialog').getByRole('button', { name: 'Clone' }).click();
    await heading(/^web-clone/).waitFor();
    expect(new URL(page.url()).pathname).not.toContain(vmId);
    await state('running').waitFor({ timeout: BOOT_MS });
    await accessible('vm-clone');
  });

  it('restores the original VM to its snapshot in place, after confirming', async () => {
    await page.goto(`${p.manager.url}/vms/${vmId}/snapshots`);
    await page.getByRole('button', { name: 'Restore here web-snap' }).click();
    await page.getByRole('dialog').getByText('current memory and disk are replaced').waitFor();
    await page.getByRole('dialog').getByRole('button', { name: 'Restore' }).click();
    await page.getByRole('tab', { name: 'Events & logs' }).click();
    await page.getByRole('cell', { name: 'restoring snapshot web-snap' }).waitFor({ timeout: BOOT_MS });
    await state('running').waitFor({ timeout: BOOT_MS });
  });

  it('lists snapshots with lineage and the VM they were taken of', async () => {
    await page.getByRole('link', { name: 'Snapshots' }).click();
    const row = page.locator('tr[data-snapshot="web-snap"]');
    await row.getByRole('link', { name: 'web-e2e' }).waitFor();
    await row.getByRole('button', { name: 'Clone web-snap' }).waitFor();
    await accessible('snapshots');
  });

  it('saves a VM as a template, lists it, and checks a new template with the contract schema', async () => {
    await page.goto(`${p.manager.url}/vms/${vmId}`);
    await page.getByRole('button', { name: 'Save as template' }).click();
    await page.getByRole('dialog').getByLabel('Template name').fill('web-tpl');
    await page.getByRole('dialog').getByRole('button', { name: 'Save template' }).click();
    await page.getByTestId('template-saved').filter({ hasText: 'web-tpl' }).waitFor();
    await page.getByTestId('template-saved').getByRole('link', { name: 'web-tpl' }).click();
    await heading('Templates').waitFor();
    await page
      .locator('tr[data-template="web-tpl"]')
      .getByRole('cell', { name: /1 vCPU, 128 MiB/ })
      .waitFor();
    await page
      .locator('tr[data-template="web-tpl"]')
      .getByTestId('template-networks')
      .filter({ hasText: /^default$/ })
      .waitFor();
    await accessible('templates');
    await page.getByRole('button', { name: 'New template' }).click();
    await page.getByLabel('Template name').fill('Bad Name');
    await page.getByLabel('vCPUs').fill('0');
    await page.getByRole('button', { name: 'Save template' }).click();
    await page.getByTestId('field-error').filter({ hasText: 'lowercase' }).waitFor();
    await page.getByTestId('field-error').filter({ hasText: /1/ }).first().waitFor();
    await accessible('templates-new');
    await page.getByRole('button', { name: 'Cancel' }).click();
  });

  it('creates a volume and attaches it only to a stopped VM on its host', async () => {
    await page.getByRole('link', { name: 'Volumes' }).click();
    await page.getByText('No volumes yet').waitFor();
    await page.getByLabel('Volume name').fill('web-data');
    await page.getByLabel('Size').fill('256mib');
    await page.getByRole('button', { name: 'Create volume' }).click();
    const row = page.locator('tr[data-volume="web-data"]');
    await row.getByRole('cell', { name: '256 MiB' }).waitFor({ timeout: BOOT_MS });
    await accessible('volumes');
    await row.getByRole('button', { name: 'Attach web-data' }).click();
    const dialog = page.getByRole('dialog');
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
    await page
      .getByRole('table', { name: 'Attached volumes' })
      .getByRole('cell', { name: 'web-data' })
      .waitFor();
    await accessible('vm-storage');
  });

  it('creates an isolated network, shows its leases, and deletes it only once no VM uses it', async () => {
    await page.getByRole('link', { name: 'Networks', exact: true }).click();
    await heading('Networks').waitFor();
    // The default network is listed with its badge and cannot be deleted.
    const def = page.locator('tr[data-network="default"]');
    await def.getByRole('cell', { name: p.net.cidr }).waitFor();
    // Its name and its badge.
    expect(await def.getByText('default', { exact: true }).count()).toBe(2);
    expect(await def.getByRole('button', { name: 'Delete default' }).isDisabled()).toBe(true);
    await page.getByLabel('Network name').fill('web-iso');
    await page.getByLabel('Mode').selectOption('isolated');
    expect(await page.getByLabel('Gateway').count()).toBe(0);
    // A subnet only the API can refuse (it overlaps the default network): message, code and hint.
    await page.getByLabel('Subnet (CIDR)').fill(p.net.cidr);
    await page.getByRole('button', { name: 'Create network' }).click();
    await page.getByTestId('field-error').filter({ hasText: 'overlaps default' }).waitFor();
    await page
      .getByRole('alert')
      .filter({ hasText: 'NETWORK_CIDR_OVERLAP' })
      .filter({ hasText: 'Choose a subnet that overlaps no other network' })
      .waitFor();
    await accessible('networks-create-refused');
    const cidr = `10.${randomInt(226, 250)}.${randomInt(1, 250)}.0/24`;
    await page.getByLabel('Subnet (CIDR)').fill(cidr);
    await page.getByRole('button', { name: 'Create network' }).click();
    const row = page.locator('tr[data-network="web-iso"]');
    await row.getByRole('cell', { name: cidr }).waitFor();
    await row.getByRole('cell', { name: 'isolated' }).waitFor();
    await row.getByTestId('network-vms').filter({ hasText: /^0$/ }).waitFor();
    await accessible('networks');

    // A VM on it, never started: its lease exists from creation on. The count follows live.
    const vm = await p.client.call('createVm', {
      body: {
        name: 'web-net',
        networks: ['web-iso'],
        egress: { default: 'deny', allow: ['10.0.0.0/8'], deny: [] },
        bandwidthMbit: 20,
        start: false,
      },
    });
    const ip = vm.networks[0]!.ip!;
    await row.getByTestId('network-vms').filter({ hasText: /^1$/ }).waitFor();
    await row.getByRole('link', { name: 'Leases of web-iso' }).click();
    await heading(/^Network web-iso/).waitFor();
    const lease = page.locator('tr[data-lease="web-net/0"]');
    await lease.getByRole('cell', { name: ip, exact: true }).waitFor();
    await lease.getByRole('cell', { name: vm.networks[0]!.mac }).waitFor();
    await lease.getByRole('cell', { name: 'IPAM' }).waitFor();
    await accessible('network-leases');
    // The VM's Network tab: its NIC, egress policy and bandwidth limit.
    await lease.getByRole('link', { name: 'web-net' }).click();
    await heading(/^web-net/).waitFor();
    const nic = page.getByRole('table', { name: 'Network interfaces' }).locator('tr[data-nic="0"]');
    await nic.getByRole('link', { name: 'web-iso' }).waitFor();
    await nic.getByRole('cell', { name: vm.networks[0]!.mac }).waitFor();
    await nic.getByRole('cell', { name: ip, exact: true }).waitFor();
    await page.getByText('allow 10.0.0.0/8; deny the rest').waitFor();
    await page.getByText('20 Mbit/s per NIC, each direction').waitFor();
    await accessible('vm-network');

    // Deleting while the VM has a NIC on it: the API's refusal, with its hint, under the row.
    await page.getByRole('link', { name: 'Networks', exact: true }).click();
    await row.getByRole('button', { name: 'Delete web-iso' }).click();
    await page.getByRole('dialog').getByText('refuses while VMs have a NIC on it (1 now)').waitFor();
    await accessible('networks-delete-dialog');
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await row
      .getByRole('alert')
      .filter({ hasText: /NETWORK_IN_USE/ })
      .filter({ hasText: 'web-net' })
      .filter({ hasText: 'Delete or stop-and-detach the VMs' })
      .waitFor();
    await accessible('networks-delete-refused');
    // Once the VM is gone (through the event stream, no reload), the delete goes through.
    await p.client.call('deleteVm', { params: { id: vm.id } });
    await row.getByTestId('network-vms').filter({ hasText: /^0$/ }).waitFor({ timeout: BOOT_MS });
    await row.getByRole('button', { name: 'Delete web-iso' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
    expect((await p.client.all('listNetworks')).map((n) => n.name)).toEqual(['default']);
  });

  it('creates a VM on two networks with a fixed IP, a port and deny-by-default egress, then edits it', async () => {
    const cidr = `10.${randomInt(226, 250)}.${randomInt(1, 250)}.0/24`;
    const fixed = cidr.replace(/0\/24$/, '77');
    const hostPort = randomInt(20_000, 30_000);
    await p.client.call('createNetwork', { body: { name: 'web-iso2', mode: 'isolated', cidr } });
    const nic2 = page.getByRole('group', { name: 'NIC 2', exact: true });
    const wizardToNetwork = async (name: string) => {
      await page.getByRole('link', { name: 'VMs', exact: true }).click();
      await page.getByRole('link', { name: 'Create VM' }).click();
      await page.getByLabel('Name').fill(name);
      for (const step of ['Resources', 'Boot source', 'Network']) {
        await page.getByRole('button', { name: 'Next' }).click();
        await page.getByRole('heading', { name: new RegExp(`: ${step}$`) }).waitFor();
        if (step === 'Resources' && testVmm()) await page.getByLabel('VMM').selectOption(testVmm()!);
      }
      // NIC 1 is the default network; NIC 2 goes on the isolated one with a fixed address.
      await page.getByRole('button', { name: 'Add a NIC' }).click();
      await nic2.getByLabel('Network', { exact: true }).selectOption('web-iso2');
      await nic2.getByText(`a free address in ${cidr}`).waitFor();
    };

    await wizardToNetwork('web-nics');
    // An address outside the subnet is refused before anything is sent.
    await nic2.getByLabel('Fixed IP address').fill('192.0.2.10');
    await page.getByRole('button', { name: 'Next' }).click();
    await nic2
      .getByTestId('field-error')
      .filter({ hasText: `not inside web-iso2's subnet ${cidr}` })
      .waitFor();
    await nic2.getByLabel('Fixed IP address').fill(fixed);
    await page.getByRole('button', { name: 'Add a port' }).click();
    const port1 = page.getByRole('group', { name: 'Port 1', exact: true });
    await port1.getByLabel('Host port').fill(String(hostPort));
    await port1.getByLabel('Guest port').fill('80');
    await page.getByLabel('Egress default').selectOption('deny');
    await page.getByLabel('Egress allow list').fill('192.0.2.0/24');
    await accessible('create-network');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('heading', { name: /: Credentials & review$/ }).waitFor();
    await page.getByLabel('Start the VM once it is created').uncheck();
    await page.getByText(`default, web-iso2 (${fixed})`).waitFor();
    await page.getByText(`${hostPort} → 80/tcp`).waitFor();
    await page.getByText('allow 192.0.2.0/24; deny the rest').waitFor();
    await page.getByText('no: created stopped').waitFor();
    await accessible('create-review-network');
    await page.getByRole('button', { name: 'Create VM' }).click();
    await page.waitForURL(/\/vms\/vm_/);
    const id = new URL(page.url()).pathname.split('/')[2]!;
    await heading(/^web-nics/).waitFor();
    const vm = await p.client.call('getVm', { params: { id } });
    expect(vm.desiredState).toBe('stopped');
    expect(['created', 'stopped']).toContain(vm.state);
    expect(vm.networks.map((n) => [n.networkName, n.ip])).toEqual([
      ['default', expect.stringMatching(/^\d+\.\d+\.\d+\.\d+$/)],
      ['web-iso2', fixed],
    ]);
    expect(vm.ports).toEqual([{ host: hostPort, guest: 80, protocol: 'tcp' }]);
    expect(vm.egress).toEqual({ default: 'deny', allow: ['192.0.2.0/24'], deny: [] });
    expect(vm.bandwidthMbit).toBeNull();

    // Its Network tab: bandwidth and egress edited in place, saved with PATCH.
    await page.getByRole('tab', { name: 'Network' }).click();
    const nicRow = page.getByRole('table', { name: 'Network interfaces' }).locator('tr[data-nic="1"]');
    await nicRow.getByRole('cell', { name: fixed, exact: true }).waitFor();
    await page.getByRole('button', { name: 'Edit ports, egress and bandwidth' }).click();
    await page.getByTestId('policy-apply-note').filter({ hasText: 'applied when it next starts' }).waitFor();
    await page.getByLabel('Bandwidth limit (Mbit/s)').fill('0');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByTestId('field-error').filter({ hasText: 'a whole number of Mbit/s' }).waitFor();
    await page.getByLabel('Bandwidth limit (Mbit/s)').fill('25');
    await page.getByLabel('Egress allow list').fill('192.0.2.0/24\n198.51.100.7');
    await page.getByLabel('Egress deny list').fill('192.0.2.66');
    await accessible('vm-network-edit');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved; applied when the VM next starts.' }).waitFor();
    await page.getByText('25 Mbit/s per NIC, each direction').waitFor();
    await page.getByText('deny 192.0.2.66; allow 192.0.2.0/24, 198.51.100.7; deny the rest').waitFor();
    const edited = await p.client.call('getVm', { params: { id } });
    expect(edited.bandwidthMbit).toBe(25);
    expect(edited.egress).toEqual({
      default: 'deny',
      allow: ['192.0.2.0/24', '198.51.100.7'],
      deny: ['192.0.2.66'],
    });
    expect(edited.ports).toEqual(vm.ports);

    // The same address asked for again: the API's NETWORK_IP_UNAVAILABLE, next to NIC 2 and with its hint.
    await wizardToNetwork('web-nics2');
    await nic2.getByLabel('Fixed IP address').fill(fixed);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByLabel('Start the VM once it is created').uncheck();
    await page.getByRole('button', { name: 'Create VM' }).click();
    await page.getByRole('heading', { name: /: Network$/ }).waitFor();
    await nic2
      .getByTestId('field-error')
      .filter({ hasText: `${fixed} is taken` })
      .waitFor();
    await page
      .getByRole('alert')
      .filter({ hasText: 'NETWORK_IP_UNAVAILABLE' })
      .filter({ hasText: "Ask for a free address inside the network's subnet" })
      .waitFor();
    await accessible('create-ip-taken');
    expect((await p.client.call('listVms')).items.map((v) => v.name)).not.toContain('web-nics2');

    // On a running VM the change is applied on its host at once.
    await page.goto(`${p.manager.url}/vms/${vmId}/network`);
    await page.getByRole('button', { name: 'Edit ports, egress and bandwidth' }).click();
    await page.getByTestId('policy-apply-note').filter({ hasText: 'on its host at once' }).waitFor();
    await page.getByLabel('Bandwidth limit (Mbit/s)').fill('50');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved and applied on the running VM.' }).waitFor();
    expect((await p.client.call('getVm', { params: { id: vmId } })).bandwidthMbit).toBe(50);
    await page.getByRole('button', { name: 'Edit ports, egress and bandwidth' }).click();
    await page.getByLabel('Bandwidth limit (Mbit/s)').fill('');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved and applied' }).waitFor();
    await page.getByText('no limit').first().waitFor();
    expect((await p.client.call('getVm', { params: { id: vmId } })).bandwidthMbit).toBeNull();
  });

  it('writes a template on two networks with an egress policy and a bandwidth limit', async () => {
    await page.getByRole('link', { name: 'Templates' }).click();
    await page.getByRole('button', { name: 'New template' }).click();
    await page.getByLabel('Template name').fill('web-net-tpl');
    // NIC 2 takes the first network not yet chosen; templates take no fixed addresses.
    await page.getByRole('button', { name: 'Add a NIC' }).click();
    const nic2 = page.getByRole('group', { name: 'NIC 2', exact: true });
    expect(await nic2.getByLabel('Network', { exact: true }).inputValue()).toBe('web-iso2');
    expect(await page.getByLabel('Fixed IP address').count()).toBe(0);
    await page.getByLabel('Egress default').selectOption('deny');
    await page.getByLabel('Bandwidth limit (Mbit/s)').fill('abc');
    await page.getByRole('button', { name: 'Save template' }).click();
    await page.getByTestId('field-error').filter({ hasText: 'a whole number of Mbit/s' }).waitFor();
    await accessible('templates-new-network');
    await page.getByLabel('Bandwidth limit (Mbit/s)').fill('10');
    await page.getByRole('button', { name: 'Save template' }).click();
    await page
      .locator('tr[data-template="web-net-tpl"]')
      .getByTestId('template-networks')
      .filter({ hasText: 'default, web-iso2; egress deny all; 10 Mbit/s' })
      .waitFor();
    const tpl = (await p.client.all('listTemplates')).find((t) => t.name === 'web-net-tpl')!;
    expect(tpl.spec).toMatchObject({
      networks: ['default', 'web-iso2'],
      egress: { default: 'deny', allow: [], deny: [] },
      bandwidthMbit: 10,
    });
    await p.client.call('deleteTemplate', { params: { id: tpl.id } });
    const vm = (await p.client.call('listVms')).items.find((v) => v.name === 'web-nics')!;
    await p.client.call('deleteVm', { params: { id: vm.id } });
    await expect
      .poll(async () => (await p.client.call('listVms')).items.some((v) => v.id === vm.id), {
        timeout: BOOT_MS,
      })
      .toBe(false);
    await p.client.call('deleteNetwork', { params: { id: 'web-iso2' } });
  });

  it('lists images and hosts; searches and filters VMs; both themes and tablet width', async () => {
    await page.getByRole('link', { name: 'Images' }).click();
    await page.getByRole('cell', { name: /^base/ }).first().waitFor();
    // Built-in images are never deleted; the page says why instead of failing on click.
    expect(await page.getByRole('button', { name: 'Delete base', exact: true }).isDisabled()).toBe(true);
    await page.getByText('Upload an image').waitFor();
    await accessible('images');
    await page.getByRole('link', { name: 'Hosts' }).click();
    await page.getByText('vCPUs allocated').first().waitFor();
    await accessible('hosts');
    await page.getByRole('button', { name: 'Dark theme' }).click();
    await page.getByRole('link', { name: 'VMs', exact: true }).click();
    await page.locator('tr[data-vm="web-e2e"]').waitFor();
    await accessible('vm-list-dark');
    // "/" focuses the search box; the term is then set in one change, and the list follows it.
    await page.keyboard.press('/');
    const searchBox = page.getByPlaceholder(/Search/);
    expect(await searchBox.evaluate((el) => el === document.activeElement)).toBe(true);
    await searchBox.fill('taken');
    await page.locator('tr[data-vm="web-e2e"]').waitFor({ state: 'detached' });
    await page.locator('tr[data-vm="taken"]').waitFor();
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

  it('uploads an image with progress, imports one from a URL with streamed progress, deletes both', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-web-img-'));
    const file = join(dir, 'disk.ext4');
    execFileSync('mkfs.ext4', ['-q', '-F', file, '16M']);
    const disk = await readFile(file);
    await rm(dir, { recursive: true });
    await page.getByRole('link', { name: 'Images', exact: true }).click();
    await page
      .getByLabel('File')
      .setInputFiles({ name: 'disk.ext4', mimeType: 'application/octet-stream', buffer: disk });
    await page.getByLabel('Image name').fill('web-upload');
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await page
      .getByRole('status')
      .filter({ hasText: 'Uploaded web-upload (16.0 MiB)' })
      .waitFor({ timeout: BOOT_MS });
    await page.locator('tr[data-image="web-upload"]').getByRole('cell', { name: 'ready' }).waitFor();

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
      await page.getByLabel('OCI reference or URL').fill(url);
      await page.getByLabel('Name (optional)').fill('web-url');
      await page.getByRole('button', { name: 'Import', exact: true }).click();
      await page
        .getByRole('progressbar', { name: /^Downloading — (8|9)\.\d MiB of 16\.0 MiB$/ })
        .waitFor({ timeout: BOOT_MS });
      await accessible('images-import-progress');
      release();
      await page
        .getByRole('status')
        .filter({ hasText: 'Imported web-url (16.0 MiB)' })
        .waitFor({ timeout: BOOT_MS });
    } finally {
      release();
      srv.close();
    }
    for (const name of ['web-upload', 'web-url']) {
      await page.getByRole('button', { name: `Delete ${name}`, exact: true }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
      await page.locator(`tr[data-image="${name}"]`).waitFor({ state: 'detached' });
    }
  });

  it('deletes VMs: one from its page, the rest in bulk from the list, after confirming', async () => {
    await page.goto(`${p.manager.url}/vms/${vmId}`);
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.waitForURL(/\/vms$/);
    await page.locator('tr[data-vm="web-e2e"]').waitFor({ state: 'detached', timeout: BOOT_MS });
    await page.getByLabel('Select taken').check();
    await page.getByLabel('Select web-clone').check();
    await page.getByRole('button', { name: 'Delete (2)' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.getByText('No VMs yet').waitFor({ timeout: BOOT_MS });
    expect((await p.client.call('listVms')).items).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { randomInt } from 'node:crypto';
import { testVmm } from '../helpers/platform.ts';
import { BOOT_MS, useDashboard } from '../helpers/dashboard.ts';

// Networks in the dashboard (real Chromium, real platform), signed in from the start: isolated
// networks and their leases, VMs on two networks with ports, egress and bandwidth, and templates on
// networks. Every wait is on a DOM state.
describe('web dashboard: networks', () => {
  const ui = useDashboard({ signedIn: true });
  const { heading, accessible, apiError } = ui;

  it('creates an isolated network, shows its leases, and deletes it only once no VM uses it', async () => {
    await ui.page.getByRole('link', { name: 'Networks', exact: true }).click();
    await heading('Networks').waitFor();
    // The default network is listed with its badge and cannot be deleted.
    const def = ui.page.locator('tr[data-network="default"]');
    await def.getByRole('cell', { name: ui.p.net.cidr }).waitFor();
    // Its name and its badge.
    expect(await def.getByText('default', { exact: true }).count()).toBe(2);
    expect(await def.getByRole('button', { name: 'Delete default' }).isDisabled()).toBe(true);
    await ui.page.getByLabel('Network name').fill('web-iso');
    await ui.page.getByLabel('Mode').selectOption('isolated');
    expect(await ui.page.getByLabel('Gateway').count()).toBe(0);
    // A subnet only the API can refuse (it overlaps the default network): message, code and hint.
    await ui.page.getByLabel('Subnet (CIDR)').fill(ui.p.net.cidr);
    await ui.page.getByRole('button', { name: 'Create network' }).click();
    await ui.page.getByTestId('field-error').filter({ hasText: 'overlaps default' }).waitFor();
    await apiError('NETWORK_CIDR_OVERLAP', 'Choose a subnet that overlaps no other network').waitFor();
    await accessible('networks-create-refused');
    const cidr = `10.${randomInt(226, 250)}.${randomInt(1, 250)}.0/24`;
    await ui.page.getByLabel('Subnet (CIDR)').fill(cidr);
    await ui.page.getByRole('button', { name: 'Create network' }).click();
    const row = ui.page.locator('tr[data-network="web-iso"]');
    await row.getByRole('cell', { name: cidr }).waitFor();
    await row.getByRole('cell', { name: 'isolated' }).waitFor();
    await row.getByTestId('network-vms').filter({ hasText: /^0$/ }).waitFor();
    await accessible('networks');

    // A VM on it, never started: its lease exists from creation on. The count follows live.
    const vm = await ui.p.client.call('createVm', {
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
    const lease = ui.page.locator('tr[data-lease="web-net/0"]');
    await lease.getByRole('cell', { name: ip, exact: true }).waitFor();
    await lease.getByRole('cell', { name: vm.networks[0]!.mac }).waitFor();
    await lease.getByRole('cell', { name: 'IPAM' }).waitFor();
    await accessible('network-leases');
    // The VM's Network tab: its NIC, egress policy and bandwidth limit.
    await lease.getByRole('link', { name: 'web-net' }).click();
    await heading(/^web-net/).waitFor();
    const nic = ui.page.getByRole('table', { name: 'Network interfaces' }).locator('tr[data-nic="0"]');
    await nic.getByRole('link', { name: 'web-iso' }).waitFor();
    await nic.getByRole('cell', { name: vm.networks[0]!.mac }).waitFor();
    await nic.getByRole('cell', { name: ip, exact: true }).waitFor();
    await ui.page.getByText('allow 10.0.0.0/8; deny the rest').waitFor();
    await ui.page.getByText('20 Mbit/s per NIC, each direction').waitFor();
    await accessible('vm-network');

    // Deleting while the VM has a NIC on it: the API's refusal, with its hint, under the row.
    await ui.page.getByRole('link', { name: 'Networks', exact: true }).click();
    await row.getByRole('button', { name: 'Delete web-iso' }).click();
    await ui.page.getByRole('dialog').getByText('refuses while VMs have a NIC on it (1 now)').waitFor();
    await accessible('networks-delete-dialog');
    await ui.page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await row
      .getByRole('alert')
      .filter({ hasText: /NETWORK_IN_USE/ })
      .filter({ hasText: 'web-net' })
      .filter({ hasText: 'Delete or stop-and-detach the VMs' })
      .waitFor();
    await accessible('networks-delete-refused');
    // Once the VM is gone (through the event stream, no reload), the delete goes through.
    await ui.p.client.call('deleteVm', { params: { id: vm.id } });
    await row.getByTestId('network-vms').filter({ hasText: /^0$/ }).waitFor({ timeout: BOOT_MS });
    await row.getByRole('button', { name: 'Delete web-iso' }).click();
    await ui.page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
    expect((await ui.p.client.all('listNetworks')).map((n) => n.name)).toEqual(['default']);
  });

  it('creates a VM on two networks with a fixed IP, a port and deny-by-default egress, then edits it', async () => {
    const cidr = `10.${randomInt(226, 250)}.${randomInt(1, 250)}.0/24`;
    const fixed = cidr.replace(/0\/24$/, '77');
    const hostPort = randomInt(20_000, 30_000);
    await ui.p.client.call('createNetwork', { body: { name: 'web-iso2', mode: 'isolated', cidr } });
    const nic2 = ui.page.getByRole('group', { name: 'NIC 2', exact: true });
    const wizardToNetwork = async (name: string) => {
      await ui.page.getByRole('link', { name: 'VMs', exact: true }).click();
      await ui.page.getByRole('link', { name: 'Create VM' }).click();
      await ui.page.getByLabel('Name').fill(name);
      for (const step of ['Resources', 'Boot source', 'Network']) {
        await ui.page.getByRole('button', { name: 'Next' }).click();
        await ui.page.getByRole('heading', { name: new RegExp(`: ${step}$`) }).waitFor();
        if (step === 'Resources' && testVmm()) await ui.page.getByLabel('VMM').selectOption(testVmm()!);
      }
      // NIC 1 is the default network; NIC 2 goes on the isolated one with a fixed address.
      await ui.page.getByRole('button', { name: 'Add a NIC' }).click();
      await nic2.getByLabel('Network', { exact: true }).selectOption('web-iso2');
      await nic2.getByText(`a free address in ${cidr}`).waitFor();
    };

    await wizardToNetwork('web-nics');
    // An address outside the subnet is refused before anything is sent.
    await nic2.getByLabel('Fixed IP address').fill('192.0.2.10');
    await ui.page.getByRole('button', { name: 'Next' }).click();
    await nic2
      .getByTestId('field-error')
      .filter({ hasText: `not inside web-iso2's subnet ${cidr}` })
      .waitFor();
    await nic2.getByLabel('Fixed IP address').fill(fixed);
    await ui.page.getByRole('button', { name: 'Add a port' }).click();
    const port1 = ui.page.getByRole('group', { name: 'Port 1', exact: true });
    await port1.getByLabel('Host port').fill(String(hostPort));
    await port1.getByLabel('Guest port').fill('80');
    await ui.page.getByLabel('Egress default').selectOption('deny');
    await ui.page.getByLabel('Egress allow list').fill('192.0.2.0/24');
    await accessible('create-network');
    await ui.page.getByRole('button', { name: 'Next' }).click();
    await ui.page.getByRole('heading', { name: /: Credentials & review$/ }).waitFor();
    await ui.page.getByLabel('Start the VM once it is created').uncheck();
    await ui.page.getByText(`default, web-iso2 (${fixed})`).waitFor();
    await ui.page.getByText(`${hostPort} → 80/tcp`).waitFor();
    await ui.page.getByText('allow 192.0.2.0/24; deny the rest').waitFor();
    await ui.page.getByText('no: created stopped').waitFor();
    await accessible('create-review-network');
    await ui.page.getByRole('button', { name: 'Create VM' }).click();
    await ui.page.waitForURL(/\/vms\/vm_/);
    const id = new URL(ui.page.url()).pathname.split('/')[2]!;
    await heading(/^web-nics/).waitFor();
    const vm = await ui.p.client.call('getVm', { params: { id } });
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
    await ui.page.getByRole('tab', { name: 'Network' }).click();
    const nicRow = ui.page.getByRole('table', { name: 'Network interfaces' }).locator('tr[data-nic="1"]');
    await nicRow.getByRole('cell', { name: fixed, exact: true }).waitFor();
    await ui.page.getByRole('button', { name: 'Edit ports, egress and bandwidth' }).click();
    await ui.page
      .getByTestId('policy-apply-note')
      .filter({ hasText: 'applied when it next starts' })
      .waitFor();
    await ui.page.getByLabel('Bandwidth limit (Mbit/s)').fill('0');
    await ui.page.getByRole('button', { name: 'Save changes' }).click();
    await ui.page.getByTestId('field-error').filter({ hasText: 'a whole number of Mbit/s' }).waitFor();
    await ui.page.getByLabel('Bandwidth limit (Mbit/s)').fill('25');
    await ui.page.getByLabel('Egress allow list').fill('192.0.2.0/24\n198.51.100.7');
    await ui.page.getByLabel('Egress deny list').fill('192.0.2.66');
    await accessible('vm-network-edit');
    await ui.page.getByRole('button', { name: 'Save changes' }).click();
    await ui.page
      .getByRole('status')
      .filter({ hasText: 'Saved; applied when the VM next starts.' })
      .waitFor();
    await ui.page.getByText('25 Mbit/s per NIC, each direction').waitFor();
    await ui.page.getByText('deny 192.0.2.66; allow 192.0.2.0/24, 198.51.100.7; deny the rest').waitFor();
    const edited = await ui.p.client.call('getVm', { params: { id } });
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
    await ui.page.getByRole('button', { name: 'Next' }).click();
    await ui.page.getByLabel('Start the VM once it is created').uncheck();
    await ui.page.getByRole('button', { name: 'Create VM' }).click();
    await ui.page.getByRole('heading', { name: /: Network$/ }).waitFor();
    await nic2
      .getByTestId('field-error')
      .filter({ hasText: `${fixed} is taken` })
      .waitFor();
    await apiError('NETWORK_IP_UNAVAILABLE', "Ask for a free address inside the network's subnet").waitFor();
    await accessible('create-ip-taken');
    expect((await ui.p.client.call('listVms')).items.map((v) => v.name)).not.toContain('web-nics2');

    // On a running VM the change is applied on its host at once.
    const live = await ui.p.client.call('createVm', { body: { name: 'web-live', vmm: testVmm() } });
    const running = await ui.p.client.call('waitVm', {
      params: { id: live.id },
      query: { state: 'running', timeout: BOOT_MS / 1000 },
    });
    expect(running.state).toBe('running');
    const vmId = running.id;
    await ui.page.goto(`${ui.p.manager.url}/vms/${vmId}/network`);
    await ui.page.getByRole('button', { name: 'Edit ports, egress and bandwidth' }).click();
    await ui.page.getByTestId('policy-apply-note').filter({ hasText: 'on its host at once' }).waitFor();
    await ui.page.getByLabel('Bandwidth limit (Mbit/s)').fill('50');
    await ui.page.getByRole('button', { name: 'Save changes' }).click();
    await ui.page.getByRole('status').filter({ hasText: 'Saved and applied on the running VM.' }).waitFor();
    expect((await ui.p.client.call('getVm', { params: { id: vmId } })).bandwidthMbit).toBe(50);
    await ui.page.getByRole('button', { name: 'Edit ports, egress and bandwidth' }).click();
    await ui.page.getByLabel('Bandwidth limit (Mbit/s)').fill('');
    await ui.page.getByRole('button', { name: 'Save changes' }).click();
    await ui.page.getByRole('status').filter({ hasText: 'Saved and applied' }).waitFor();
    await ui.page.getByText('no limit').first().waitFor();
    expect((await ui.p.client.call('getVm', { params: { id: vmId } })).bandwidthMbit).toBeNull();
  });

  it('writes a template on two networks with an egress policy and a bandwidth limit', async () => {
    await ui.page.getByRole('link', { name: 'Templates' }).click();
    await ui.page.getByRole('button', { name: 'New template' }).click();
    await ui.page.getByLabel('Template name').fill('web-net-tpl');
    // NIC 2 takes the first network not yet chosen; templates take no fixed addresses.
    await ui.page.getByRole('button', { name: 'Add a NIC' }).click();
    const nic2 = ui.page.getByRole('group', { name: 'NIC 2', exact: true });
    expect(await nic2.getByLabel('Network', { exact: true }).inputValue()).toBe('web-iso2');
    expect(await ui.page.getByLabel('Fixed IP address').count()).toBe(0);
    await ui.page.getByLabel('Egress default').selectOption('deny');
    await ui.page.getByLabel('Bandwidth limit (Mbit/s)').fill('abc');
    await ui.page.getByRole('button', { name: 'Save template' }).click();
    await ui.page.getByTestId('field-error').filter({ hasText: 'a whole number of Mbit/s' }).waitFor();
    await accessible('templates-new-network');
    await ui.page.getByLabel('Bandwidth limit (Mbit/s)').fill('10');
    await ui.page.getByRole('button', { name: 'Save template' }).click();
    await ui.page
      .locator('tr[data-template="web-net-tpl"]')
      .getByTestId('template-networks')
      .filter({ hasText: 'default, web-iso2; egress deny all; 10 Mbit/s' })
      .waitFor();
    const tpl = (await ui.p.client.all('listTemplates')).find((t) => t.name === 'web-net-tpl')!;
    expect(tpl.spec).toMatchObject({
      networks: ['default', 'web-iso2'],
      egress: { default: 'deny', allow: [], deny: [] },
      bandwidthMbit: 10,
    });
    await ui.p.client.call('deleteTemplate', { params: { id: tpl.id } });
    const vm = (await ui.p.client.call('listVms')).items.find((v) => v.name === 'web-nics')!;
    await ui.p.client.call('deleteVm', { params: { id: vm.id } });
    await expect
      .poll(async () => (await ui.p.client.call('listVms')).items.some((v) => v.id === vm.id), {
        timeout: BOOT_MS,
      })
      .toBe(false);
    await ui.p.client.call('deleteNetwork', { params: { id: 'web-iso2' } });
  });
});

import { describe, expect, it } from 'vitest';
import { useDashboard } from '../helpers/dashboard.ts';

// A VM's egress domain allow-list in the dashboard (real Chromium, real platform): shown as the API
// has it, edited on the VM's Network tab with plain-words checks first, saved with PATCH, and kept
// when only the address lists are edited. Every wait is on a DOM state;
// test/e2e/egress-domains.test.ts proves the enforcement itself.
describe('web dashboard: egress domains', () => {
  const ui = useDashboard({ signedIn: true });

  it("views and edits a VM's allowed domains", { timeout: 600_000 }, async () => {
    // A VM that is only recorded: what the page sends and shows is the point here, and
    // web-networks.test.ts already applies a policy edit to a running VM.
    const vm = await ui.p.client.call('createVm', {
      body: {
        name: 'web-domains',
        start: false,
        egress: { default: 'deny', allow: [], deny: [], domains: ['example.com'] },
      },
    });
    await ui.page.goto(`${ui.p.manager.url}/vms/${vm.id}/network`);
    await ui.page.getByText('allow names example.com (as they resolve); deny the rest').waitFor();
    const edit = ui.page.getByRole('button', { name: 'Edit ports, egress and bandwidth' });
    const domains = ui.page.getByLabel('Egress allowed domains');
    const save = ui.page.getByRole('button', { name: 'Save changes' });
    await edit.click();
    expect(await domains.inputValue()).toBe('example.com');

    // Checked in plain words before anything is sent: a bad name, then a list under default allow.
    await domains.fill('example.com\n*.Docs.Example.org, not_a_name');
    await save.click();
    await ui.page
      .getByTestId('field-error')
      .filter({ hasText: '"not_a_name" is not a domain name' })
      .waitFor();
    await domains.fill('example.com\n*.Docs.Example.org');
    await ui.page.getByLabel('Egress default').selectOption('allow');
    await save.click();
    await ui.page
      .getByTestId('field-error')
      .filter({ hasText: 'allowed domains need the default' })
      .waitFor();
    await ui.page.getByLabel('Egress default').selectOption('deny');
    await ui.accessible('vm-egress-domains-edit');
    await save.click();
    await ui.page
      .getByRole('status')
      .filter({ hasText: 'Saved; applied when the VM next starts.' })
      .waitFor();
    await ui.page
      .getByText('allow names example.com, *.docs.example.org (as they resolve); deny the rest')
      .waitFor();
    expect((await ui.p.client.call('getVm', { params: { id: vm.id } })).egress).toEqual({
      default: 'deny',
      allow: [],
      deny: [],
      domains: ['example.com', '*.docs.example.org'],
    });

    // Editing only the address list keeps the domains; emptying the domains removes them.
    await edit.click();
    await ui.page.getByLabel('Egress allow list').fill('192.0.2.0/24');
    await save.click();
    await ui.page
      .getByRole('status')
      .filter({ hasText: 'Saved; applied when the VM next starts.' })
      .waitFor();
    expect((await ui.p.client.call('getVm', { params: { id: vm.id } })).egress).toEqual({
      default: 'deny',
      allow: ['192.0.2.0/24'],
      deny: [],
      domains: ['example.com', '*.docs.example.org'],
    });
    await edit.click();
    await domains.fill('');
    await save.click();
    await ui.page
      .getByRole('status')
      .filter({ hasText: 'Saved; applied when the VM next starts.' })
      .waitFor();
    await ui.page.getByText('allow 192.0.2.0/24; deny the rest').waitFor();
    expect((await ui.p.client.call('getVm', { params: { id: vm.id } })).egress).toEqual({
      default: 'deny',
      allow: ['192.0.2.0/24'],
      deny: [],
    });
  });
});

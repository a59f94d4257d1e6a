import { describe, expect, it } from 'vitest';
import { makeUser } from '../helpers/identity.ts';
import { useDashboard } from '../helpers/dashboard.ts';

// Identity in the dashboard (real Chromium, real platform): a user signs in, the menu says who
// they are, switching projects shows only that project's VMs (and the choice survives a reload),
// the Users and Projects pages (members, quotas with usage bars) render for an administrator, and
// a viewer sees no administration and has the buttons its role does not allow disabled with the
// reason. Every wait is on a DOM state.
describe('web dashboard: users, projects and the project switcher', () => {
  const ui = useDashboard();
  const { heading, accessible } = ui;
  const switcher = () => ui.page.getByTestId('project-switcher');
  const nav = (name: string) =>
    ui.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
  // Signing in keeps the page the browser is on (the dashboard at first, a project page later).
  const signIn = async (token: string, name: string) => {
    await ui.page.getByLabel('API token').fill(token);
    await ui.page.getByRole('button', { name: 'Sign in with token' }).click();
    await ui.page.getByTestId('whoami').filter({ hasText: name }).waitFor();
  };

  it('signs in, switches projects and shows the identity pages by role', async () => {
    const { stores } = ui.p.manager;
    const admin = await makeUser(stores, {
      name: 'web-admin',
      admin: true,
      roles: { default: 'owner', 'web-b': 'owner' },
    });
    const viewer = await makeUser(stores, { name: 'web-viewer', roles: { 'web-b': 'viewer' } });
    // One VM in each project, never started: nothing needs to boot.
    await ui.p.client.call('createVm', { body: { name: 'web-in-default', start: false } });
    await ui.p.client.call('createVm', {
      body: { name: 'web-in-b', project: 'web-b', start: false },
      headers: { 'x-hearth-project': 'web-b' },
    });
    const vmRow = (name: string) => ui.page.locator(`tr[data-vm="${name}"]`);

    await ui.page.goto(ui.p.manager.url);
    await signIn(admin.token, 'web-admin');
    await heading('Dashboard').waitFor();
    await nav('VMs').click();
    await vmRow('web-in-default').waitFor();
    expect(await vmRow('web-in-b').count()).toBe(0);

    // The switch: every list reloads in the other project.
    await switcher().selectOption('web-b');
    await vmRow('web-in-b').waitFor();
    expect(await vmRow('web-in-default').count()).toBe(0);
    await accessible('identity-vms-in-web-b');
    // Remembered across a reload.
    await ui.page.reload();
    await vmRow('web-in-b').waitFor();
    expect(await switcher().inputValue()).toBe('web-b');
    expect(await vmRow('web-in-default').count()).toBe(0);

    // Users (administrators only).
    await nav('Users').click();
    await heading('Users').waitFor();
    await ui.page.locator('tr[data-user="web-viewer"]').waitFor();
    await ui.page.locator('tr[data-user="web-admin"]').waitFor();
    await accessible('identity-users');

    // Projects, and one project's quotas and members; a quota set here shows against its usage.
    await nav('Projects').click();
    await heading('Projects').waitFor();
    const row = ui.page.locator('tr[data-project="web-b"]');
    await row.waitFor();
    await accessible('identity-projects');
    await row.getByRole('link', { name: 'web-b' }).click();
    await heading('Project web-b').waitFor();
    await ui.page.locator('tr[data-member="web-viewer"]').waitFor();
    expect(await ui.page.getByLabel('Role of web-viewer').inputValue()).toBe('viewer');
    await ui.page.getByRole('button', { name: 'Edit quotas' }).click();
    await ui.page.getByRole('dialog').getByLabel('VMs', { exact: true }).fill('4');
    await ui.page.getByRole('dialog').getByRole('button', { name: 'Save quotas' }).click();
    await ui.page.getByRole('meter', { name: 'VMs used' }).waitFor();
    await ui.page.locator('[data-quota="vms"]').getByText('1 / 4').waitFor();
    await accessible('identity-project');

    // A viewer of web-b: no administration in the navigation, owner and admin buttons disabled.
    await ui.page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await signIn(viewer.token, 'web-viewer');
    // The remembered project (web-b) is one of theirs: it stays.
    expect(await switcher().inputValue()).toBe('web-b');
    await ui.page.getByTestId('project-role').filter({ hasText: 'viewer' }).waitFor();
    expect(await nav('Users').count()).toBe(0);
    expect(await nav('Audit').count()).toBe(0);
    await nav('VMs').click();
    await vmRow('web-in-b').waitFor();
    expect(await vmRow('web-in-default').count()).toBe(0);
    const createVm = ui.page.getByRole('button', { name: 'Create VM' });
    expect(await createVm.isDisabled()).toBe(true);
    expect(await createVm.getAttribute('title')).toBe(
      'Needs the operator role in project web-b; you have viewer.',
    );
    await nav('Projects').click();
    const create = ui.page.getByRole('button', { name: 'Create project' });
    await create.waitFor();
    expect(await create.isDisabled()).toBe(true);
    expect(await create.getAttribute('title')).toBe('Needs a platform administrator.');
    await ui.page.locator('tr[data-project="web-b"]').getByRole('link', { name: 'web-b' }).click();
    await ui.page.locator('tr[data-member="web-admin"]').waitFor();
    const add = ui.page.getByRole('button', { name: 'Add member' });
    expect(await add.isDisabled()).toBe(true);
    expect(await add.getAttribute('title')).toBe('Needs the owner role in project web-b; you have viewer.');
    expect(await ui.page.getByRole('button', { name: 'Edit quotas' }).isDisabled()).toBe(true);
    await accessible('identity-project-as-viewer');
  });
});

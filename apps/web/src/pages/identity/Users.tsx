import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import type { User } from '@hearth/contract';
import { useAccess } from '../../api/access.ts';
import { identityKeys, identityQueries } from '../../api/identity-queries.ts';
import { useApiMutation } from '../../api/mutation.ts';
import { useSession } from '../../api/session.tsx';
import { ConfirmButton } from '../../components/ConfirmDialog.tsx';
import { TextField } from '../../components/Field.tsx';
import { FormDialog } from '../../components/FormDialog.tsx';
import { RoleButton } from '../../components/RoleButton.tsx';
import {
  Badge,
  Empty,
  ErrorLine,
  errorText,
  PageHeader,
  QueryView,
  rowClass,
  Table,
} from '../../components/ui.tsx';
import type { FieldErrors } from '../../lib/fields.ts';
import { formatAgo } from '../../lib/format.ts';
import { emptyUserForm, errorFields, userBody, type UserForm } from './forms.ts';

/** Platform administrators: every user, created with a password, disabled, promoted or deleted. */
export default function Users() {
  const { client } = useSession();
  const users = useQuery(identityQueries.users(client));
  return (
    <>
      <PageHeader title="Users" actions={<CreateUser />} />
      <p className="mb-4 max-w-3xl text-sm text-slate-600 dark:text-slate-300">
        People who sign in here. A disabled user cannot sign in, and its sessions and API tokens stop working.
        Projects and roles are given on each project&apos;s page.
      </p>
      <QueryView query={users} what="users" empty={<Empty title="No users yet" />}>
        {(list) => (
          <Table
            label="Users"
            headers={['Name', 'Display name', 'E-mail', 'Status', 'Last sign-in', 'Actions']}
          >
            {list.map((u) => (
              <UserRow key={u.id} user={u} />
            ))}
          </Table>
        )}
      </QueryView>
    </>
  );
}

function UserRow({ user: u }: { user: User }) {
  const { me } = useAccess();
  const self = me?.user?.id === u.id;
  const patch = useApiMutation({
    call: (c, body: { disabled?: boolean; admin?: boolean }) =>
      c.call('patchUser', { params: { id: u.id }, body }),
    invalidate: [identityKeys.users],
  });
  const remove = useApiMutation({
    call: (c) => c.call('deleteUser', { params: { id: u.id } }),
    invalidate: [identityKeys.users],
  });
  const selfNote = self ? 'Not on your own user.' : undefined;
  return (
    <tr className={rowClass} data-user={u.name}>
      <td className="p-2 font-medium">
        {u.name} {u.admin && <Badge>admin</Badge>} {u.sso && <Badge>SSO</Badge>}
      </td>
      <td className="p-2">{u.displayName || '—'}</td>
      <td className="p-2">{u.email ?? '—'}</td>
      <td className="p-2">{u.disabled ? 'disabled' : 'enabled'}</td>
      <td className="p-2 whitespace-nowrap">{u.lastSignInAt ? formatAgo(u.lastSignInAt) : 'never'}</td>
      <td className="p-2">
        <div className="flex flex-wrap gap-2">
          <RoleButton
            route="patchUser"
            disabled={patch.isPending || self}
            title={selfNote}
            onClick={() => patch.mutate({ disabled: !u.disabled })}
          >
            {u.disabled ? 'Enable' : 'Disable'}
            <span className="sr-only"> {u.name}</span>
          </RoleButton>
          <RoleButton
            route="patchUser"
            disabled={patch.isPending || self}
            title={selfNote}
            onClick={() => patch.mutate({ admin: !u.admin })}
          >
            {u.admin ? 'Remove admin' : 'Make admin'}
            <span className="sr-only"> {u.name}</span>
          </RoleButton>
          <ConfirmButton
            label="Delete"
            button={{
              variant: 'danger',
              disabled: remove.isPending || self,
              title: selfNote,
              'aria-label': `Delete ${u.name}`,
            }}
            error={null}
            title={`Delete user ${u.name}?`}
            confirmLabel="Delete"
            danger
            onConfirm={() => remove.mutate()}
          >
            Its sessions, API tokens and project memberships go with it. The audit trail keeps its name.
          </ConfirmButton>
        </div>
        <ErrorLine message={errorText(patch.error ?? remove.error)} />
      </td>
    </tr>
  );
}

function CreateUser() {
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState<UserForm>(emptyUserForm);
  const [errors, setErrors] = useState<FieldErrors>({});
  const create = useApiMutation({
    call: (c, body: NonNullable<ReturnType<typeof userBody>['body']>) => c.call('createUser', { body }),
    invalidate: [identityKeys.users],
    onSuccess: () => {
      setOpen(false);
      setForm(emptyUserForm);
    },
    onError: (e) => setErrors(errorFields(e)),
  });
  const set = (k: keyof UserForm) => (v: string | boolean) => setForm((f) => ({ ...f, [k]: v }));
  const submit = () => {
    const r = userBody(form);
    setErrors(r.errors ?? {});
    if (r.body) create.mutate(r.body);
  };
  return (
    <>
      <RoleButton route="createUser" variant="primary" onClick={() => setOpen(true)}>
        Create user
      </RoleButton>
      <FormDialog
        open={open}
        onOpenChange={setOpen}
        title="Create a user"
        description="They sign in with this name and password; give them projects on the Projects page."
        submitLabel="Create user"
        pending={create.isPending}
        error={Object.keys(errors).length ? null : errorText(create.error)}
        onSubmit={submit}
      >
        <TextField
          label="User name"
          value={form.name}
          onChange={set('name')}
          errors={errors.name}
          autoComplete="off"
        />
        <TextField
          label="Password"
          type="password"
          autoComplete="new-password"
          value={form.password}
          onChange={set('password')}
          errors={errors.password}
          hint="At least 8 characters. Leave empty for a user who signs in with single sign-on only."
        />
        <TextField
          label="Display name"
          value={form.displayName}
          onChange={set('displayName')}
          errors={errors.displayName}
        />
        <TextField
          label="E-mail"
          type="email"
          value={form.email}
          onChange={set('email')}
          errors={errors.email}
        />
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={form.admin} onChange={(e) => set('admin')(e.target.checked)} />
          Platform administrator (hosts, global images, users, projects)
        </label>
      </FormDialog>
    </>
  );
}

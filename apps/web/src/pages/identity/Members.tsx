import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { PROJECT_ROLES, type Member, type ProjectRole } from '@hearth/contract';
import { useAccess } from '../../api/access.ts';
import { identityKeys, identityQueries } from '../../api/identity-queries.ts';
import { useApiMutation } from '../../api/mutation.ts';
import { useSession } from '../../api/session.tsx';
import { ConfirmButton } from '../../components/ConfirmDialog.tsx';
import { inputClass, SelectField, TextField } from '../../components/Field.tsx';
import { RoleButton } from '../../components/RoleButton.tsx';
import { Card, Empty, ErrorLine, errorText, QueryView, rowClass, Table } from '../../components/ui.tsx';
import { formatTime } from '../../lib/format.ts';
import { errorFields } from './forms.ts';

const ROLE_NOTE: Record<ProjectRole, string> = {
  viewer: 'viewer: reads everything, watches consoles',
  operator: 'operator: everything on workloads, nothing on members',
  owner: 'owner: operator plus members and the audit trail',
};

function MemberRow({ project, m }: { project: string; m: Member }) {
  const reason = useAccess().deny('putMember', project);
  const invalidate = [identityKeys.members(project), identityKeys.me];
  const change = useApiMutation({
    call: (c, role: ProjectRole) =>
      c.call('putMember', { params: { id: project, user: m.userId }, body: { role } }),
    invalidate,
  });
  const remove = useApiMutation({
    call: (c) => c.call('deleteMember', { params: { id: project, user: m.userId } }),
    invalidate,
  });
  return (
    <tr className={rowClass} data-member={m.userName}>
      <td className="p-2 font-medium">{m.userName}</td>
      <td className="p-2">
        <select
          aria-label={`Role of ${m.userName}`}
          className={inputClass}
          value={m.role}
          disabled={reason !== null || change.isPending}
          title={reason ?? undefined}
          onChange={(e) => change.mutate(e.target.value as ProjectRole)}
        >
          {PROJECT_ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </td>
      <td className="p-2 whitespace-nowrap">{formatTime(m.createdAt)}</td>
      <td className="p-2">
        <ConfirmButton
          label="Remove"
          button={{
            disabled: reason !== null || remove.isPending,
            title: reason ?? undefined,
            'aria-label': `Remove ${m.userName}`,
          }}
          error={change.error ?? remove.error}
          title={`Remove ${m.userName} from ${project}?`}
          confirmLabel="Remove"
          danger
          onConfirm={() => remove.mutate()}
        >
          They lose access to the project&apos;s VMs and resources; their API tokens scoped to it stop working
          here. A project keeps at least one owner.
        </ConfirmButton>
      </td>
    </tr>
  );
}

function AddMember({ project }: { project: string }) {
  const [user, setUser] = useState('');
  const [role, setRole] = useState<ProjectRole>('operator');
  const add = useApiMutation({
    call: (c) => c.call('putMember', { params: { id: project, user: user.trim() }, body: { role } }),
    invalidate: [identityKeys.members(project)],
    onSuccess: () => setUser(''),
  });
  const fields = errorFields(add.error);
  return (
    <form
      noValidate
      className="mt-4 grid items-end gap-3 sm:grid-cols-[1fr_12rem_auto]"
      onSubmit={(e) => {
        e.preventDefault();
        if (user.trim()) add.mutate();
      }}
    >
      <TextField
        label="User"
        value={user}
        onChange={setUser}
        errors={fields.user}
        hint="User name or id."
        autoComplete="off"
      />
      <SelectField label="Role" value={role} onChange={(v) => setRole(v as ProjectRole)}>
        {PROJECT_ROLES.map((r) => (
          <option key={r} value={r}>
            {ROLE_NOTE[r]}
          </option>
        ))}
      </SelectField>
      <RoleButton
        type="submit"
        variant="primary"
        route="putMember"
        project={project}
        disabled={add.isPending || !user.trim()}
      >
        Add member
      </RoleButton>
      <ErrorLine className="text-sm sm:col-span-3" message={fields.user ? null : errorText(add.error)} />
    </form>
  );
}

/** A project's members and their roles; owners add, change and remove them. */
export function Members({ project }: { project: string }) {
  const { client } = useSession();
  const members = useQuery(identityQueries.members(client, project));
  return (
    <Card title="Members">
      <QueryView query={members} what="members" empty={<Empty title="No members" />}>
        {(list) => (
          <Table label="Members" headers={['User', 'Role', 'Member since', 'Actions']}>
            {list.map((m) => (
              <MemberRow key={m.userId} project={project} m={m} />
            ))}
          </Table>
        )}
      </QueryView>
      <AddMember project={project} />
    </Card>
  );
}

import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { useAccess } from '../../api/access.ts';
import { identityKeys, identityQueries } from '../../api/identity-queries.ts';
import { useApiMutation } from '../../api/mutation.ts';
import { useSession } from '../../api/session.tsx';
import { TextField } from '../../components/Field.tsx';
import { FormDialog } from '../../components/FormDialog.tsx';
import { RoleButton } from '../../components/RoleButton.tsx';
import {
  Badge,
  Empty,
  errorText,
  linkClass,
  PageHeader,
  QueryView,
  rowClass,
  Table,
} from '../../components/ui.tsx';
import type { FieldErrors } from '../../lib/fields.ts';
import { formatTime } from '../../lib/format.ts';
import { errorFields, projectBody, quotaRows } from './forms.ts';

/** The caller's projects (administrators: all), with their role and VM quota; create (administrators). */
export default function Projects() {
  const { client } = useSession();
  const { project } = useAccess();
  const projects = useQuery(identityQueries.projects(client));
  return (
    <>
      <PageHeader title="Projects" actions={<CreateProject />} />
      <p className="mb-4 max-w-3xl text-sm text-slate-600 dark:text-slate-300">
        Every VM, image, volume, network, snapshot and template belongs to one project; names are unique
        within it. Switch the project you work in from the menu.
      </p>
      <QueryView query={projects} what="projects" empty={<Empty title="You belong to no project" />}>
        {(list) => (
          <Table label="Projects" headers={['Name', 'Description', 'Your role', 'VMs', 'Created']}>
            {list.map((p) => {
              const vms = quotaRows(p.quotas, p.usage)[0]!;
              return (
                <tr key={p.id} className={rowClass} data-project={p.name}>
                  <td className="p-2 font-medium">
                    <Link className={linkClass} to={`/projects/${encodeURIComponent(p.name)}`}>
                      {p.name}
                    </Link>{' '}
                    {p.name === project && <Badge>current</Badge>}
                  </td>
                  <td className="p-2">{p.description || '—'}</td>
                  <td className="p-2">{p.role}</td>
                  <td className="p-2 whitespace-nowrap">
                    {vms.used}
                    {vms.limit !== null && ` / ${vms.limit}`}
                  </td>
                  <td className="p-2 whitespace-nowrap">{formatTime(p.createdAt)}</td>
                </tr>
              );
            })}
          </Table>
        )}
      </QueryView>
    </>
  );
}

function CreateProject() {
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const create = useApiMutation({
    call: (c, body: { name: string; description: string }) => c.call('createProject', { body }),
    invalidate: [identityKeys.projects, identityKeys.me],
    onSuccess: () => {
      setOpen(false);
      setName('');
      setDescription('');
    },
    onError: (e) => setErrors(errorFields(e)),
  });
  const submit = () => {
    const r = projectBody({ name, description });
    setErrors(r.errors ?? {});
    if (r.body) create.mutate({ name: r.body.name, description: r.body.description ?? '' });
  };
  return (
    <>
      <RoleButton route="createProject" variant="primary" onClick={() => setOpen(true)}>
        Create project
      </RoleButton>
      <FormDialog
        open={open}
        onOpenChange={setOpen}
        title="Create a project"
        description="You become its owner; add members and set quotas on its page."
        submitLabel="Create project"
        pending={create.isPending}
        error={Object.keys(errors).length ? null : errorText(create.error)}
        onSubmit={submit}
      >
        <TextField
          label="Project name"
          value={name}
          onChange={setName}
          errors={errors.name}
          hint="Lowercase letters, digits and dashes; it cannot be renamed."
          autoComplete="off"
        />
        <TextField
          label="Description"
          value={description}
          onChange={setDescription}
          errors={errors.description}
        />
      </FormDialog>
    </>
  );
}

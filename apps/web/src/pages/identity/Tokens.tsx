import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { PROJECT_ROLES, type ApiToken, type CreateTokenBody } from '@hearth/contract';
import type { z } from 'zod';
import { useAccess } from '../../api/access.ts';
import { identityKeys, identityQueries } from '../../api/identity-queries.ts';
import { PROJECT_HEADER } from '../../api/project.tsx';
import { useApiMutation } from '../../api/mutation.ts';
import { useSession } from '../../api/session.tsx';
import { ConfirmButton } from '../../components/ConfirmDialog.tsx';
import { SelectField, TextField } from '../../components/Field.tsx';
import { FormDialog } from '../../components/FormDialog.tsx';
import { RoleButton } from '../../components/RoleButton.tsx';
import { Button, Empty, PageHeader, QueryView, rowClass, Table } from '../../components/ui.tsx';
import type { FieldErrors } from '../../lib/fields.ts';
import { formatAgo, formatTime } from '../../lib/format.ts';
import { emptyTokenForm, errorFields, tokenBody, type TokenForm } from './forms.ts';

/** The caller's API tokens: last use, expiry and scope; create (the secret shown once) and revoke. */
export default function Tokens() {
  const { client } = useSession();
  const { admin } = useAccess();
  const [all, setAll] = useState(false);
  const tokens = useQuery(identityQueries.tokens(client, all));
  // When the list was shown: expiries are compared with it, not with each render's clock.
  const [now] = useState(Date.now);
  return (
    <>
      <PageHeader title="API tokens" actions={<CreateToken />} />
      <p className="mb-4 max-w-3xl text-sm text-slate-600 dark:text-slate-300">
        For the CLI (<code>hearth login</code>) and scripts. A token acts as you, never above its role
        ceiling, and only in its project when it has one. Its secret is shown once, when it is created.
      </p>
      {admin && (
        <label className="mb-3 flex items-center gap-2 text-sm">
          <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} />
          Every user&apos;s tokens and the bootstrap admin token
        </label>
      )}
      <QueryView query={tokens} what="API tokens" empty={<Empty title="No API tokens yet" />}>
        {(list) => (
          <Table
            label="API tokens"
            headers={['Name', 'Role ceiling', 'Project', 'Created', 'Expires', 'Last used', 'Actions']}
          >
            {list.map((t) => (
              <TokenRow key={t.id} token={t} now={now} />
            ))}
          </Table>
        )}
      </QueryView>
    </>
  );
}

function TokenRow({ token: t, now }: { token: ApiToken; now: number }) {
  const revoke = useApiMutation({
    call: (c) => c.call('deleteToken', { params: { id: t.id } }),
    invalidate: [identityKeys.tokens],
  });
  const expired = t.expiresAt !== null && Date.parse(t.expiresAt) <= now;
  return (
    <tr className={rowClass} data-token={t.name}>
      <td className="p-2 font-medium">
        {t.name}
        {t.userName && <span className="block text-xs font-normal">{t.userName}</span>}
        {t.kind === 'admin' && <span className="block text-xs">bootstrap admin token</span>}
      </td>
      <td className="p-2">{t.role ?? 'none (your roles)'}</td>
      <td className="p-2">{t.project ?? 'any'}</td>
      <td className="p-2 whitespace-nowrap">{formatTime(t.createdAt)}</td>
      <td className="p-2 whitespace-nowrap">
        {t.expiresAt ? `${expired ? 'expired ' : ''}${formatTime(t.expiresAt)}` : 'never'}
      </td>
      <td className="p-2 whitespace-nowrap">{t.lastUsedAt ? formatAgo(t.lastUsedAt) : 'never'}</td>
      <td className="p-2">
        <ConfirmButton
          label="Revoke"
          button={{ variant: 'danger', disabled: revoke.isPending, 'aria-label': `Revoke ${t.name}` }}
          error={revoke.error}
          title={`Revoke token ${t.name}?`}
          confirmLabel="Revoke"
          danger
          onConfirm={() => revoke.mutate()}
        >
          Anything using it is refused from now on (401). This cannot be undone.
        </ConfirmButton>
      </td>
    </tr>
  );
}

/** The new token's secret, this once, with a copy button. */
function ShowSecret({ secret, onClose }: { secret: string; onClose(): void }) {
  const [copied, setCopied] = useState(false);
  return (
    <FormDialog
      open
      onOpenChange={(o) => !o && onClose()}
      title="Copy your new token"
      description="This is the only time it is shown: it is stored hashed and cannot be read back."
      submitLabel="Done"
      onSubmit={onClose}
    >
      <code
        className="block rounded bg-slate-100 p-2 text-sm break-all dark:bg-slate-800"
        data-testid="token-secret"
      >
        {secret}
      </code>
      <Button
        onClick={() =>
          void navigator.clipboard.writeText(secret).then(
            () => setCopied(true),
            () => setCopied(false),
          )
        }
      >
        {copied ? 'Copied' : 'Copy'}
      </Button>
    </FormDialog>
  );
}

function CreateToken() {
  const { me } = useAccess();
  const [open, setOpen] = useState(false);
  const [secret, setSecret] = useState<string | null>(null);
  const [form, setForm] = useState<TokenForm>(emptyTokenForm);
  const [errors, setErrors] = useState<FieldErrors>({});
  const create = useApiMutation({
    // A scoped token names its project as the request's project too (the manager refuses a
    // request naming two different projects).
    call: (c, body: z.input<typeof CreateTokenBody>) =>
      c.call('createToken', { body, headers: body.project ? { [PROJECT_HEADER]: body.project } : {} }),
    invalidate: [identityKeys.tokens],
    onSuccess: (t) => {
      setOpen(false);
      setForm(emptyTokenForm);
      setSecret(t.token);
    },
    onError: (e) => setErrors(errorFields(e)),
  });
  const set = (k: keyof TokenForm) => (v: string) => setForm((f) => ({ ...f, [k]: v }));
  const submit = () => {
    const r = tokenBody(form);
    setErrors(r.errors ?? {});
    if (r.body) create.mutate(r.body);
  };
  return (
    <>
      <RoleButton route="createToken" variant="primary" onClick={() => setOpen(true)}>
        Create token
      </RoleButton>
      {secret && <ShowSecret secret={secret} onClose={() => setSecret(null)} />}
      <FormDialog
        open={open}
        onOpenChange={setOpen}
        title="Create an API token"
        submitLabel="Create token"
        pending={create.isPending}
        error={Object.keys(errors).length ? null : create.error ? create.error.message : null}
        onSubmit={submit}
      >
        <TextField
          label="Token name"
          value={form.name}
          onChange={set('name')}
          errors={errors.name}
          autoComplete="off"
        />
        <TextField
          label="Expires in"
          value={form.expiresIn}
          onChange={set('expiresIn')}
          errors={errors.expiresIn}
          hint="A number and a unit: 30m, 12h, 90d (at most 731d). Blank: never expires."
        />
        <SelectField label="Role ceiling" value={form.role} onChange={set('role')}>
          <option value="">none: your own roles</option>
          {PROJECT_ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
          {me?.admin && <option value="admin">admin</option>}
        </SelectField>
        <SelectField label="Project scope" value={form.project} onChange={set('project')}>
          <option value="">any project you belong to</option>
          {(me?.projects ?? []).map((p) => (
            <option key={p.name} value={p.name}>
              {p.name}
            </option>
          ))}
        </SelectField>
      </FormDialog>
    </>
  );
}

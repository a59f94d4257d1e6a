import { useEffect, useMemo, useRef, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import { VM_STATES, type Vm } from '@hearth/contract';
import { useSession } from '../api/session.tsx';
import { hostQueries, vmQueries } from '../api/queries.ts';
import {
  canAct,
  useVmAction,
  VM_ACTION_ROUTE,
  type BulkResult,
  type VmActionName,
} from '../api/vm-actions.ts';
import { ConfirmDialog } from '../components/ConfirmDialog.tsx';
import { inputClass } from '../components/Field.tsx';
import { RoleButton, RoleLink } from '../components/RoleButton.tsx';
import { Empty, PageHeader, QueryView, StateBadge } from '../components/ui.tsx';
import { formatMib } from '../lib/format.ts';

const BULK: { action: VmActionName; label: string; danger?: boolean }[] = [
  { action: 'start', label: 'Start' },
  { action: 'stop', label: 'Stop' },
  { action: 'delete', label: 'Delete', danger: true },
];

/** Filters live in the URL, so a filtered list can be reloaded, bookmarked and shared. */
function useFilters() {
  const [params, setParams] = useSearchParams();
  const get = (k: string) => params.get(k) ?? '';
  const set = (k: string, v: string) =>
    setParams(
      (p) => {
        if (v) p.set(k, v);
        else p.delete(k);
        return p;
      },
      { replace: true },
    );
  return { q: get('q'), state: get('state'), host: get('host'), set };
}

export function VmList() {
  const { client } = useSession();
  const vms = useQuery(vmQueries.list(client));
  const hosts = useQuery(hostQueries.list(client));
  const f = useFilters();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [confirm, setConfirm] = useState<VmActionName | null>(null);
  const [results, setResults] = useState<BulkResult[]>([]);
  const act = useVmAction();
  const search = useRef<HTMLInputElement>(null);
  // "/" jumps to the search box, as in most consoles, unless the user is typing somewhere.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const typing = e.target instanceof HTMLElement && e.target.closest('input, textarea, select');
      if (e.key === '/' && !typing) {
        e.preventDefault();
        search.current?.focus();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const hostName = useMemo(() => new Map((hosts.data ?? []).map((h) => [h.id, h.name])), [hosts.data]);
  const shown = useMemo(() => {
    const q = f.q.trim().toLowerCase();
    return (vms.data ?? []).filter(
      (v) =>
        (!q || v.name.includes(q) || v.id.includes(q) || (v.ip ?? '').includes(q)) &&
        (!f.state || v.state === f.state) &&
        (!f.host || v.host === f.host),
    );
  }, [vms.data, f.q, f.state, f.host]);
  const chosen = shown.filter((v) => selected.has(v.id));
  const eligible = (a: VmActionName) => chosen.filter((v) => canAct(a, v));
  const toggle = (id: string) =>
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
  const allChosen = shown.length > 0 && chosen.length === shown.length;

  const run = (action: VmActionName) => {
    act.mutate(
      { action, vms: eligible(action) },
      {
        onSuccess: (r) => {
          setResults(r.filter((x) => x.error));
          setSelected(new Set());
        },
      },
    );
  };

  const select = (label: string, key: 'state' | 'host', options: [string, string][]) => (
    <label className="text-sm">
      <span className="mr-1">{label}</span>
      <select className={`${inputClass} w-auto`} value={f[key]} onChange={(e) => f.set(key, e.target.value)}>
        <option value="">All</option>
        {options.map(([v, l]) => (
          <option key={v} value={v}>
            {l}
          </option>
        ))}
      </select>
    </label>
  );

  return (
    <>
      <PageHeader
        title="Virtual machines"
        actions={
          <RoleLink route="createVm" to="/vms/new">
            Create VM
          </RoleLink>
        }
      />
      <div className="mb-3 flex flex-wrap items-end gap-3">
        <label className="text-sm">
          <span className="sr-only">Search VMs</span>
          <input
            ref={search}
            type="search"
            placeholder="Search name, id or IP (press /)"
            className={`${inputClass} w-64`}
            value={f.q}
            onChange={(e) => f.set('q', e.target.value)}
          />
        </label>
        {select(
          'State',
          'state',
          VM_STATES.map((s) => [s, s]),
        )}
        {select(
          'Host',
          'host',
          (hosts.data ?? []).map((h) => [h.id, h.name]),
        )}
      </div>
      {chosen.length > 0 && (
        <div
          className="mb-3 flex flex-wrap items-center gap-2 rounded-md bg-blue-50 p-2 text-sm dark:bg-blue-950"
          role="region"
          aria-label="Bulk actions"
        >
          <span>{chosen.length} selected</span>
          {BULK.map((b) => (
            <RoleButton
              key={b.action}
              route={VM_ACTION_ROUTE[b.action]}
              variant={b.danger ? 'danger' : 'secondary'}
              disabled={!eligible(b.action).length || act.isPending}
              onClick={() => setConfirm(b.action)}
            >
              {b.label} ({eligible(b.action).length})
            </RoleButton>
          ))}
        </div>
      )}
      {results.length > 0 && (
        <div
          role="alert"
          className="mb-3 rounded-md border border-red-300 bg-red-50 p-3 text-sm text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100"
        >
          {results.map((r) => (
            <p key={r.vm.id}>
              {r.vm.name}: {r.error!.message}
            </p>
          ))}
        </div>
      )}
      <QueryView
        query={vms}
        what="VMs"
        empty={
          <Empty title="No VMs yet">
            <Link className="text-blue-700 underline dark:text-blue-300" to="/vms/new">
              Create the first one
            </Link>
            .
          </Empty>
        }
      >
        {() =>
          shown.length === 0 ? (
            <Empty title="No VM matches these filters" />
          ) : (
            <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
              <table className="w-full text-left text-sm" data-testid="vm-table">
                <thead className="border-b border-slate-200 text-slate-600 dark:border-slate-800 dark:text-slate-300">
                  <tr>
                    <th className="p-2">
                      <input
                        type="checkbox"
                        aria-label="Select all shown VMs"
                        checked={allChosen}
                        onChange={() => setSelected(allChosen ? new Set() : new Set(shown.map((v) => v.id)))}
                      />
                    </th>
                    <th className="p-2">Name</th>
                    <th className="p-2">State</th>
                    <th className="p-2">IP</th>
                    <th className="p-2">Host</th>
                    <th className="p-2">Project</th>
                    <th className="p-2">Size</th>
                  </tr>
                </thead>
                <tbody>
                  {shown.map((v) => (
                    <VmRow
                      key={v.id}
                      vm={v}
                      host={v.host ? (hostName.get(v.host) ?? v.host) : '—'}
                      checked={selected.has(v.id)}
                      onToggle={toggle}
                    />
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </QueryView>
      <ConfirmDialog
        open={confirm !== null}
        onOpenChange={(o) => !o && setConfirm(null)}
        title={`${BULK.find((b) => b.action === confirm)?.label ?? ''} ${confirm ? eligible(confirm).length : 0} VM(s)?`}
        confirmLabel={BULK.find((b) => b.action === confirm)?.label ?? 'OK'}
        danger={confirm === 'delete'}
        onConfirm={() => confirm && run(confirm)}
      >
        <p>{confirm === 'delete' ? 'Their disks and records are removed for good.' : 'This applies to:'}</p>
        <p className="mt-1 font-mono">
          {confirm
            ? eligible(confirm)
                .map((v) => v.name)
                .join(', ')
            : ''}
        </p>
      </ConfirmDialog>
    </>
  );
}

function VmRow({
  vm,
  host,
  checked,
  onToggle,
}: {
  vm: Vm;
  host: string;
  checked: boolean;
  onToggle(id: string): void;
}) {
  return (
    <tr className="border-b border-slate-100 last:border-0 dark:border-slate-800" data-vm={vm.name}>
      <td className="p-2">
        <input
          type="checkbox"
          aria-label={`Select ${vm.name}`}
          checked={checked}
          onChange={() => onToggle(vm.id)}
        />
      </td>
      <td className="p-2">
        <Link className="font-medium text-blue-700 underline dark:text-blue-300" to={`/vms/${vm.id}`}>
          {vm.name}
        </Link>
      </td>
      <td className="p-2">
        <StateBadge state={vm.state} />
      </td>
      <td className="p-2 font-mono">{vm.ip ?? '—'}</td>
      <td className="p-2">{host}</td>
      <td className="p-2">{vm.project}</td>
      <td className="p-2 whitespace-nowrap">
        {vm.vcpus} vCPU · {formatMib(vm.memoryMib)}
      </td>
    </tr>
  );
}

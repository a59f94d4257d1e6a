import { useState } from 'react';
import { useMutation } from '@tanstack/react-query';
import type { Vm } from '@hearth/contract';
import { useSession } from '../../api/session.tsx';
import { Button, Card, ErrorLine, errorText } from '../../components/ui.tsx';

/**
 * Web apps in the VM, opened through the guest agent's HTTP proxy: one button per published TCP
 * port, and any other port by number (the proxy needs no published port). Each opens a proxy
 * pass (POST /v1/vms/{id}/proxy-passes): the page is sandboxed, so the browser would not send the
 * session with its scripts, styles and requests; the pass in the address goes with them instead.
 */
export function ProxyLinksCard({ vm }: { vm: Vm }) {
  const { client } = useSession();
  const [port, setPort] = useState('');
  const open = useMutation({
    mutationFn: async (p: number) => {
      // Opened now, while the click still counts as the user's: a window opened after the
      // request returns would be taken for a pop-up and blocked.
      const tab = window.open('', '_blank');
      try {
        const pass = await client.call('createProxyPass', { params: { id: vm.id }, body: { port: p } });
        if (tab) {
          tab.opener = null;
          tab.location.href = pass.path;
        } else window.location.assign(pass.path);
      } catch (e) {
        tab?.close();
        throw e;
      }
    },
  });
  if (vm.state !== 'running') return null;
  const published = [...new Set(vm.ports.filter((p) => p.protocol === 'tcp').map((p) => p.guest))];
  const n = Number(port);
  const valid = Number.isInteger(n) && n >= 1 && n <= 65535;
  return (
    <Card title="Web apps in the VM">
      <ul className="flex flex-wrap gap-3 text-sm">
        {published.map((p) => (
          <li key={p}>
            <Button onClick={() => open.mutate(p)} disabled={open.isPending}>
              Open port {p}
            </Button>
          </li>
        ))}
        <li className="flex items-center gap-2">
          <label htmlFor="proxy-port">Port</label>
          <input
            id="proxy-port"
            inputMode="numeric"
            className="w-24 rounded border px-2 py-1 dark:bg-slate-900"
            value={port}
            onChange={(e) => setPort(e.target.value.trim())}
          />
          {valid ? (
            <Button onClick={() => open.mutate(n)} disabled={open.isPending}>
              Open port {n}
            </Button>
          ) : null}
        </li>
      </ul>
      <ErrorLine message={errorText(open.error)} />
      <p className="mt-3 text-xs text-slate-600 dark:text-slate-300">
        Through the guest agent: no published port or route needed (also{' '}
        <code>hearth port-forward {vm.name} 8080:80</code>). Each opens a new tab with an address that works
        for an hour for anyone who has it. Pages are sandboxed: they cannot act with your session.
      </p>
    </Card>
  );
}

import { useState } from 'react';
import type { Vm } from '@hearth/contract';
import { Card, linkClass } from '../../components/ui.tsx';

/** The HTTP proxy's address for a port of the VM (GET /v1/vms/{id}/proxy/{port}/). */
const proxyHref = (vm: Pick<Vm, 'id'>, port: number) => `/v1/vms/${encodeURIComponent(vm.id)}/proxy/${port}/`;

/**
 * Web apps in the VM, opened through the guest agent's HTTP proxy: one link per published TCP
 * port, and any other port by number (the proxy needs no published port).
 */
export function ProxyLinksCard({ vm }: { vm: Vm }) {
  const [port, setPort] = useState('');
  if (vm.state !== 'running') return null;
  const published = [...new Set(vm.ports.filter((p) => p.protocol === 'tcp').map((p) => p.guest))];
  const n = Number(port);
  const valid = Number.isInteger(n) && n >= 1 && n <= 65535;
  return (
    <Card title="Web apps in the VM">
      <ul className="flex flex-wrap gap-3 text-sm">
        {published.map((p) => (
          <li key={p}>
            <a className={linkClass} href={proxyHref(vm, p)} target="_blank" rel="noreferrer">
              Open port {p}
            </a>
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
            <a className={linkClass} href={proxyHref(vm, n)} target="_blank" rel="noreferrer">
              Open port {n}
            </a>
          ) : null}
        </li>
      </ul>
      <p className="mt-3 text-xs text-slate-600 dark:text-slate-300">
        Through the guest agent: no published port or route needed (also{' '}
        <code>hearth port-forward {vm.name} 8080:80</code>). Pages are sandboxed: they cannot act with your
        session.
      </p>
    </Card>
  );
}

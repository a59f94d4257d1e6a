import type { Vm } from '@hearth/contract';

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** A byte count in MiB with one decimal and a space, as the dashboard writes sizes: `12.5 MiB`. */
export const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

export function duration(seconds: number | null): string {
  if (seconds === null) return '-';
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${seconds % 60}s`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86400)}d${Math.floor((seconds % 86400) / 3600)}h`;
}

export function vmTable(vms: Vm[], hostNames: Map<string, string>): string {
  return table(
    ['NAME', 'ID', 'STATE', 'VCPUS', 'MEMORY', 'HOST', 'VMM', 'IP', 'UPTIME'],
    vms.map((v) => [
      v.name,
      v.id,
      v.state,
      String(v.vcpus),
      `${v.memoryMib}MiB`,
      v.host ? (hostNames.get(v.host) ?? v.host) : '-',
      v.vmm ? `${v.vmm}${v.accel ? `/${v.accel}` : ''}` : '-',
      v.networks?.length ? v.networks.map((n) => n.ip ?? 'dhcp…').join(',') : (v.ip ?? '-'),
      duration(v.uptimeSeconds),
    ]),
  );
}

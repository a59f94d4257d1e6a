import type { ReactNode } from 'react';
import type { Host } from '@hearth/contract';
import { formatMib } from '../../lib/format.ts';

/** A host's placement settings as Detail rows: labels, overcommit ratios, disk promised to VMs. */
export function placementItems(h: Host): [string, ReactNode][] {
  const labels = Object.entries(h.labels).sort(([a], [b]) => a.localeCompare(b));
  const ratio = (r: number | null) => (r === null ? 'default' : `×${r}`);
  return [
    [
      'Labels',
      labels.length ? (
        <span key="labels" className="flex flex-wrap gap-1">
          {labels.map(([k, v]) => (
            <code key={k} className="rounded bg-slate-100 px-1 dark:bg-slate-800">
              {k}={v}
            </code>
          ))}
        </span>
      ) : (
        'none'
      ),
    ],
    ['Overcommit', `CPU ${ratio(h.cpuOvercommit)}, memory ${ratio(h.memoryOvercommit)}`],
    ['Disk promised', formatMib(h.allocatedDiskMib)],
  ];
}

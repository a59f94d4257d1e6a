import { Link } from 'react-router';
import type { Vm } from '@hearth/contract';
import { Card, Detail, linkClass } from '../../components/ui.tsx';
import { formatTime } from '../../lib/format.ts';
import { bootRows, bootSourceText, formatMs } from './boot-profile.ts';

/**
 * Where the VM's last start-up time went: its source, the total, and each step as a bar sized by
 * its share of the total (plain elements: one short list needs no chart library).
 */
export function BootProfileCard({ vm }: { vm: Vm }) {
  const p = vm.boot;
  if (!p) {
    return (
      <Card title="Boot profile">
        <p className="text-sm text-slate-600 dark:text-slate-300" data-testid="boot-profile-none">
          {vm.state === 'pooled'
            ? 'Recorded when the VM is handed out from its pool.'
            : 'Recorded once the VM has started and its guest agent answered.'}
        </p>
      </Card>
    );
  }
  return (
    <Card title="Boot profile">
      <div data-testid="boot-profile" data-source={p.source}>
        <Detail
          items={[
            ['Source', bootSourceText(p)],
            [
              'Pool',
              p.pool ? (
                <Link key="p" className={linkClass} to="/pools">
                  {p.pool}
                </Link>
              ) : (
                '—'
              ),
            ],
            ['Total', <span key="t">{formatMs(p.totalMs)}</span>],
            ['At', formatTime(p.at)],
          ]}
        />
        <ol aria-label="Boot steps" className="mt-4 space-y-1.5 text-sm">
          {bootRows(p).map((s, i) => (
            <li
              key={`${s.name}-${i}`}
              data-step={s.name}
              className="grid grid-cols-[7rem_1fr_5rem] items-center gap-3"
            >
              <span className="font-mono">{s.name}</span>
              <span className="h-3 rounded bg-slate-200 dark:bg-slate-700" aria-hidden="true">
                <span
                  className={`block h-3 rounded ${s.name === 'other' ? 'bg-slate-400' : 'bg-blue-600'}`}
                  style={{ width: `${Math.max(s.pct, 0.5)}%` }}
                />
              </span>
              <span className="text-right tabular-nums" data-testid="boot-step-ms">
                {formatMs(s.ms)}
              </span>
            </li>
          ))}
        </ol>
        {p.source === 'pool' && (
          <p className="mt-3 text-xs text-slate-600 dark:text-slate-300">
            The VM booted ahead of time in its pool; these steps are the hand-out only.
          </p>
        )}
      </div>
    </Card>
  );
}

import { afterEach } from 'vitest';

/** A process whose output a failed test prints: an agent or manager started by the test. */
export interface LogSource {
  name: string;
  output: () => string;
}

/** pino's numeric levels: info and above are what a failure is explained by. */
const INFO = 30;

/**
 * The info-and-above log lines of each process, last `max` per process: what an agent or a
 * manager did around a failure that only shows on a busy machine, printed with the failure.
 */
export function logsOnFailure(sources: () => LogSource[], max = 150): void {
  afterEach((ctx) => {
    if (ctx.task.result?.state !== 'fail') return;
    for (const s of sources()) {
      const lines = s
        .output()
        .split('\n')
        .filter((l) => {
          if (!l.startsWith('{')) return l.trim() !== '';
          const level = /"level":(\d+)/.exec(l)?.[1];
          return level === undefined || Number(level) >= INFO;
        })
        .slice(-max)
        .map((l) => (l.length > 600 ? `${l.slice(0, 600)}…` : l));
      console.error(`--- ${s.name}: last ${lines.length} log lines ---\n${lines.join('\n')}`);
    }
  });
}

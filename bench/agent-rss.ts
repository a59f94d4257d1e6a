// The agent RSS row of the performance table, shared by bench/agent-memory.ts and bench/density.ts
// (which measures it on the VMs it boots anyway): a bare Node.js process for scale, and the row.
import { spawn } from 'node:child_process';
import { steadyRssMiB } from './lib.ts';
import { report } from './report.ts';

/** Builds the bundle hosts run (`hearth agent`) when it is stale; a no-op when it matches the sources. */
export async function ensureBundle(): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const b = spawn(process.execPath, ['scripts/build-bundles.mjs'], { stdio: 'inherit' });
    b.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`build-bundles exited ${code}`))));
  });
}

/** The steady RSS of a Node.js process that does nothing: the floor of any Node.js agent here. */
export async function bareNodeRssMiB(flags: readonly string[] = []): Promise<number> {
  const bare = spawn(process.execPath, [...flags, '-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 1000));
    return await steadyRssMiB(bare.pid!);
  } finally {
    bare.kill('SIGKILL');
  }
}

export interface AgentRss {
  idleMiB: number;
  loadedMiB: number;
  /** VMs running when `loadedMiB` was taken, and how many were asked for. */
  running: number;
  wanted: number;
  bareMiB: number;
  /** The agent ran the sources through tsx (a stale bundle), not what hosts run. */
  fromSource: boolean;
}

export function reportAgentRss(a: AgentRss): void {
  const how = a.fromSource ? 'tsx: the bundle was stale' : 'bundle';
  console.log(`bare node process:             ${a.bareMiB.toFixed(1)} MiB`);
  console.log(`agent RSS with 0 VMs:          ${a.idleMiB.toFixed(1)} MiB (${how})`);
  console.log(`agent RSS with ${String(a.running).padEnd(2)} VMs:         ${a.loadedMiB.toFixed(1)} MiB`);
  console.log(
    `per VM:                        ${((a.loadedMiB - a.idleMiB) / Math.max(1, a.running)).toFixed(2)} MiB`,
  );
  const limit = 60 + 0.5 * a.wanted;
  report({
    figure: `agent RSS idle / with ${a.wanted} VMs`,
    value: `${a.idleMiB.toFixed(0)} / ${a.loadedMiB.toFixed(0)} MiB (${how}; ${a.running} running; RSS once settled)`,
    baseline: `bare node process ${a.bareMiB.toFixed(0)} MiB`,
    ratio: null,
    target: `≤ 60 MiB + 0.5 MiB per VM (${limit} MiB with ${a.wanted})`,
    met: !a.fromSource && a.running === a.wanted && a.idleMiB <= 60 && a.loadedMiB <= limit,
  });
}

import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

const ALL = [
  'packages/*/src/**/*.test.ts',
  'packages/*/test-support/**/*.test.ts',
  'apps/*/src/**/*.test.ts',
  'test/**/*.test.ts',
  'bench/**/*.test.ts',
];

// Files that boot real VMs, start stand-in VMM processes on timers (watchdogs, poll intervals),
// or make TAPs, bridges, namespaces, nftables tables and cgroups on the host. They run one file at
// a time, after the parallel group: a boot under TCG holds a core, and a second file competing
// for the cores would stretch timings that these files wait on.
const VM = [
  'test/e2e/**/*.test.ts',
  'test/helpers/**/*.test.ts',
  'apps/agent/src/**/*.test.ts',
  'packages/firecracker/**/*.test.ts',
  'packages/vmm/src/**/*.test.ts',
  'apps/manager/src/e2b/**/*.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 180_000,
    hookTimeout: 240_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ALL,
          exclude: ['**/node_modules/**', ...VM],
          // In-process managers on PGlite or their own PostgreSQL database, CLI processes and
          // loopback servers on random ports, temp directories: files share nothing, so they run
          // side by side, and before the VM group.
          fileParallelism: true,
          // One file per core (vitest's default leaves one idle); files also wait on processes
          // and sockets, so even one core gains from two.
          maxWorkers: Math.max(2, availableParallelism()),
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'vm',
          include: VM,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});

/** The agent's defaults, in a module of their own so the CLI reads them without loading the agent. */
export const AGENT_DEFAULTS = {
  listenHost: '127.0.0.1',
  listenPort: 18081,
  heartbeatMs: 5000,
  bootTimeoutMs: 90_000,
  consoleLogCap: 1024 * 1024,
} as const;

/**
 * Node.js flags for the agent process. V8 lets the young generation grow to 16 MiB per semi-space
 * while the agent starts (loading and building its modules), and keeps those pages for good: an
 * idle agent held ~6 MiB more RSS than with 1 MiB semi-spaces. The agent's hot paths move bytes in
 * Buffers, which live outside the JavaScript heap, so the smaller young generation costs it
 * little collection work. V8 reads the flag only at start, hence the command line.
 */
export const AGENT_NODE_FLAGS = ['--max-semi-space-size=1'];

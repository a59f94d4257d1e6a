/** The agent's defaults, in a module of their own so the CLI reads them without loading the agent. */
export const AGENT_DEFAULTS = {
  listenHost: '127.0.0.1',
  listenPort: 18081,
  heartbeatMs: 5000,
  bootTimeoutMs: 90_000,
  consoleLogCap: 1024 * 1024,
} as const;

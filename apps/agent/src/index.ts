export { startAgent, AGENT_DEFAULTS, type AgentConfig, type RunningAgent } from './agent.ts';
export { collectInventory } from './inventory.ts';
export { tapName, natTable, portTable } from './net.ts';
export { ImageCache, type ImageCacheOptions, type ImageContent } from './image-cache.ts';
export { ManagerClient } from './manager-client.ts';
export { teardownNetwork, removeBridge, bridgeFor, vxlanDev } from './networks.ts';
export { nicTap, policyTable } from './vm-net.ts';
export { guardTable } from './net/tap-guard.ts';
export { sweepLeftovers } from './sweep.ts';
// Where a network's DNS forwarder keeps its pid and its names (test/e2e/dns.test.ts reads them).
export { dnsHostsFile, dnsPidFile } from './dns.ts';
export { buildAgentApp, type AgentAppDeps } from './app.ts';
// The host pieces the benchmarks time one by one (bench/net.ts, bench/snapshots.ts).
export { sh } from './exec.ts';
export { prepareDisk } from './disk.ts';
export { applyPorts, linkExists, removePorts } from './net.ts';
export { ensureNetwork } from './networks.ts';
export { applyPolicy, createTaps, deleteTaps, removePolicy } from './vm-net.ts';
// Agents built in-process around their own VM supervisor (the manager's Firecracker move test).
export { Supervisor } from './vm/index.ts';

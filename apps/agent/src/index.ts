export { startAgent, AGENT_DEFAULTS, type AgentConfig, type RunningAgent } from './agent.ts';
export { collectInventory } from './inventory.ts';
export { tapName, natTable, portTable } from './net.ts';
export { ImageCache, type ImageCacheOptions } from './image-cache.ts';
export { teardownNetwork, removeBridge, bridgeFor, vxlanDev } from './networks.ts';
export { nicTap, policyTable } from './vm-net.ts';
export { sweepLeftovers } from './sweep.ts';
export { buildAgentApp, type AgentAppDeps } from './app.ts';

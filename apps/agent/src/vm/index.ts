export { Supervisor } from './supervisor.ts';
export type { SupervisorOptions } from './context.ts';
export type { AgentSnapshot } from './snapshot.ts';

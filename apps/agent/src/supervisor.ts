// The Supervisor lives in ./vm/ (one file per responsibility); this path is kept for its importers.
export { Supervisor, type SupervisorOptions } from './vm/index.ts';

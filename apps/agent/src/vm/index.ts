export { Supervisor } from './supervisor.ts';

export {
  FirecrackerApiChecker,
  VSOCK_HOST_PORT,
  type CallRecord,
  type CheckerOptions,
} from './api-checker.ts';
export { FirecrackerModel } from './rules.ts';
export { loadSpec, validate, matchPath, SPEC_PATH } from './spec.ts';
export { writeStandinBinary } from './standin.ts';

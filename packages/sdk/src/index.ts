export { HearthClient, PROJECT_HEADER, type ClientOptions } from './client.ts';
export { ConnectionError } from './connection-error.ts';

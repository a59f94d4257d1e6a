export { HearthClient, ConnectionError, PROJECT_HEADER, type ClientOptions } from './client.ts';

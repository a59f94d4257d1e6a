export { HearthClient, ConnectionError, type ClientOptions } from './client.ts';

export * from './builtin.ts';
export * from './cache.ts';
export * from './guest-agent.ts';
export * from './runtimes.ts';
export * from './tools.ts';
export * from './untrusted-disk.ts';
export * from './digest.ts';
export * from './test-oci.ts';

/**
 * A mistake in how a command was called (flags, operands, a config key): exit code 2 with the
 * message. Its own module so that verbs that never call the API (the agent) do not load the HTTP
 * client: under the agent's V8 lite mode there is no WebAssembly for undici's parser to load.
 */
export class UsageError extends Error {}

/**
 * The serverless functions part of the one error catalogue, spread into `errorCatalogue` in
 * errors.ts: same rules, codes never reused.
 */
export const functionErrors = {
  FUNCTION_NOT_FOUND: {
    status: 404,
    hint: 'List functions with `hearth fn ls` or GET /v1/functions; names are per project.',
  },
  FUNCTION_NAME_TAKEN: {
    status: 409,
    hint: 'Deploy a new version of the function instead (PUT /v1/functions/{name}/code, `hearth fn deploy`), or remove it first.',
  },
  FUNCTION_VERSION_NOT_FOUND: {
    status: 404,
    hint: 'List the versions with GET /v1/functions/{name}/versions (`hearth fn versions NAME`).',
  },
  FUNCTION_DEPLOY_FAILED: {
    status: 422,
    hint: "The handler could not be loaded: the message has the runtime's (a syntax error with its line, a missing export), the version's `error` the whole of it. Fix the code and deploy again; the alias still points at the previous version.",
  },
  FUNCTION_NOT_READY: {
    status: 409,
    hint: 'The function has no ready version yet (its first deploy failed or is still building); deploy it again.',
  },
  FUNCTION_THROTTLED: {
    status: 429,
    hint: "Every instance up to the function's maxInstances is busy and its queue is full; retry after `Retry-After` seconds, or raise maxInstances or concurrency.",
  },
  FUNCTION_INSTANCE_FAILED: {
    status: 502,
    hint: "The function's instance could not be started or stopped answering (it was recycled); retry. `detail` says what failed.",
  },
  FUNCTION_OUT_OF_MEMORY: {
    status: 502,
    hint: "The handler used more memory than the function's memoryMib and the guest's kernel killed it; its instance was recycled and the next call restores a new one. Deploy with a larger memoryMib, or make the handler use less.",
  },
  FUNCTION_INVOCATION_NOT_FOUND: {
    status: 404,
    hint: 'The request id names no asynchronous invocation of this function (ids come from POST /v1/functions/{name}/invocations); results are kept with the invocation log.',
  },
  FUNCTION_ARCHIVE_INVALID: {
    status: 400,
    hint: 'The archive must be a .tar.gz or .tar of the function folder: relative paths without `..`, no links pointing out of the folder, no devices; `detail.entry` names the entry refused.',
  },
} as const;

/**
 * The containers part of the one error catalogue, spread into `errorCatalogue` in errors.ts: same
 * rules, codes never reused.
 */
export const containerErrors = {
  CONTAINER_NOT_FOUND: {
    status: 404,
    hint: 'List containers with `hearth ps -a` or GET /v1/containers?all=true; ids, id prefixes and names are accepted.',
  },
  CONTAINER_NAME_TAKEN: {
    status: 409,
    hint: 'Choose another name, or remove the container that has it (`hearth rm NAME`).',
  },
  CONTAINER_INVALID_STATE: {
    status: 409,
    hint: "The container's state does not allow this; `detail` says which state it is in. Stop it first, or use `force`.",
  },
  CONTAINER_NOT_RUNNING: {
    status: 409,
    hint: 'Start the container first (`hearth start NAME`); exec, top and stats need its app running.',
  },
  CONTAINER_FAILED: {
    status: 409,
    hint: 'The container failed or exited while you waited; its `stateReason` and `hearth logs NAME` say why.',
  },
  SECRET_NOT_FOUND: {
    status: 404,
    hint: 'Create the secret first with PUT /v1/secrets/{name} (`hearth secret set NAME`); names are per project.',
  },
  REGISTRY_CREDENTIAL_NOT_FOUND: {
    status: 404,
    hint: 'List stored registry credentials with GET /v1/registries.',
  },
  REGISTRY_AUTH_FAILED: {
    status: 401,
    hint: 'The registry refused the stored credentials (or asked for some): set them with PUT /v1/registries/{host} (`hearth registry login HOST`).',
  },
  VM_NO_APP: {
    status: 409,
    hint: 'This VM runs no app (its image has no command, or it boots an init): app logs, status and control need one. Its serial console (GET /v1/vms/{id}/logs) is what it prints.',
  },
} as const;

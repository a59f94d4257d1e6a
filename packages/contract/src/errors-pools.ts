/**
 * The warm-pool part of the one error catalogue, spread into `errorCatalogue` in errors.ts: same
 * rules, codes never reused.
 */
export const poolErrors = {
  POOL_NOT_FOUND: {
    status: 404,
    hint: 'List pools with `hearth pool ls` or GET /v1/pools; ids and names are accepted.',
  },
  POOL_NAME_TAKEN: { status: 409, hint: 'Choose another pool name, or delete the pool that has it.' },
  POOL_MISMATCH: {
    status: 400,
    hint: 'A VM from a pool takes its image, size and network from the pool; leave those fields out or create without `pool`.',
  },
} as const;

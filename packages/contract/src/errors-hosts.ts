/**
 * The host lifecycle part of the one error catalogue (cordon, failure handling), spread into
 * `errorCatalogue` in errors.ts: same rules, codes never reused.
 */
export const hostErrors = {
  HOST_REACHABLE: {
    status: 409,
    hint: 'The host is heartbeating: it is not dead. Stop its agent and VMMs (or power it off) first, wait until GET /v1/hosts shows it `unreachable` or `offline`, then declare it dead.',
  },
} as const;

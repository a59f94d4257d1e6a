/**
 * The placement part of the one error catalogue, spread into `errorCatalogue` in errors.ts: same
 * rules, codes never reused.
 */
export const placementErrors = {
  NO_HOST_MATCHES: {
    status: 409,
    hint: 'detail.hosts says why each host was left out: loosen hostSelector, label a host (`hearth host label HOST k=v`), use another antiAffinityGroup, add a host, or raise its overcommit (`hearth host update HOST --cpu-overcommit N`).',
  },
} as const;

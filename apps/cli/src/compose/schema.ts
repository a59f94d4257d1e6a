import { z } from 'zod';

/**
 * The subset of the Compose specification `hearth compose` runs. Every object is strict: a key
 * outside the subset is refused by name with its path (`services.web.build: not supported by
 * hearth compose`), never ignored. Values are validated again when they become a container
 * body (durations, sizes, ports), with the same path in the message.
 */

const Scalar = z.union([z.string(), z.number(), z.boolean()]);
const StringOrList = z.union([z.string(), z.array(z.string())]);
/** Lists of `K=V` or maps; a map value null takes the variable from the environment. */
const KeyValues = z.union([z.array(z.string()), z.record(z.string(), z.union([Scalar, z.null()]))]);
const Count = z.union([z.number(), z.string()]);

export const DependsCondition = z.enum([
  'service_started',
  'service_healthy',
  'service_completed_successfully',
]);
export type DependsCondition = z.infer<typeof DependsCondition>;

const Healthcheck = z.strictObject({
  test: StringOrList.optional(),
  interval: z.string().optional(),
  timeout: z.string().optional(),
  retries: Count.optional(),
  start_period: z.string().optional(),
  disable: z.boolean().optional(),
});

const PortLong = z.strictObject({
  target: z.number(),
  published: z.union([z.string(), z.number()]),
  protocol: z.enum(['tcp', 'udp']).optional(),
  host_ip: z.string().optional(),
});

const VolumeLong = z.strictObject({
  type: z.string(),
  source: z.string().optional(),
  target: z.string(),
  read_only: z.boolean().optional(),
});

const EnvFileLong = z.strictObject({ path: z.string(), required: z.boolean().optional() });

export const ComposeService = z.strictObject({
  image: z.string(),
  command: z.union([StringOrList, z.null()]).optional(),
  entrypoint: z.union([StringOrList, z.null()]).optional(),
  environment: KeyValues.optional(),
  env_file: z.union([z.string(), z.array(z.union([z.string(), EnvFileLong]))]).optional(),
  ports: z.array(z.union([z.string(), z.number(), PortLong])).optional(),
  volumes: z.array(z.union([z.string(), VolumeLong])).optional(),
  depends_on: z
    .union([
      z.array(z.string()),
      z.record(z.string(), z.strictObject({ condition: DependsCondition.optional() })),
    ])
    .optional(),
  healthcheck: Healthcheck.optional(),
  restart: z.string().optional(),
  networks: z.union([z.array(z.string()), z.record(z.string(), z.strictObject({}).nullable())]).optional(),
  container_name: z.string().optional(),
  labels: KeyValues.optional(),
  working_dir: z.string().optional(),
  user: z.union([z.string(), z.number()]).optional(),
  stop_signal: z.string().optional(),
  stop_grace_period: z.string().optional(),
  cpus: z.union([z.number(), z.string()]).optional(),
  mem_limit: z.union([z.number(), z.string()]).optional(),
  pull_policy: z.enum(['always', 'missing', 'never', 'if_not_present']).optional(),
});
export type ComposeService = z.infer<typeof ComposeService>;

const TopLevelResource = z
  .strictObject({ name: z.string().optional(), external: z.boolean().optional() })
  .nullable();

export const ComposeFile = z.strictObject({
  version: z.union([z.string(), z.number()]).optional(),
  name: z.string().optional(),
  services: z.record(z.string(), ComposeService),
  volumes: z.record(z.string(), TopLevelResource).optional(),
  networks: z.record(z.string(), TopLevelResource).optional(),
});
export type ComposeFile = z.infer<typeof ComposeFile>;

const pathText = (path: PropertyKey[]) =>
  path.reduce<string>(
    (s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${String(p)}` : String(p)),
    '',
  );

/**
 * One line per problem, each starting with its path. For a value that may take several shapes,
 * the problems of the shape it has (an object, a list) are reported, not "invalid input".
 */
export function describeIssues(issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[] = []): string[] {
  const out: string[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) out.push(`${pathText([...path, k])}: not supported by hearth compose`);
    } else if (issue.code === 'invalid_union' && issue.errors.length) {
      // The branch that accepted the value's type is the one whose problems matter.
      const branch =
        issue.errors.find((errs) => !errs.some((e) => e.path.length === 0 && e.code === 'invalid_type')) ??
        null;
      if (branch) out.push(...describeIssues(branch, path));
      else out.push(`${pathText(path)}: ${unionExpectation(issue.errors)}`);
    } else out.push(`${pathText(path)}: ${issue.message}`);
  }
  return [...new Set(out)];
}

function unionExpectation(errors: z.core.$ZodIssue[][]): string {
  const expected = errors.flatMap((errs) =>
    errs.filter((e) => e.code === 'invalid_type').map((e) => (e as { expected: string }).expected),
  );
  return expected.length ? `must be ${[...new Set(expected)].join(' or ')}` : 'has an unsupported form';
}

import { useQuery } from '@tanstack/react-query';
import { HearthError, routes, type FunctionInfo } from '@hearth/contract';
import type { HearthClient } from '@hearth/sdk';
import { fnKeys } from '../../api/function-queries.ts';
import { useSession } from '../../api/session.tsx';
import { Card } from '../../components/ui.tsx';

/**
 * PLACEHOLDER for per-function metrics (invocations, errors, throttles, cold starts, duration
 * p50/p95/p99, concurrent executions): GET /v1/functions/{name}/metrics is being added to the
 * API separately. Until the contract has a route at that path, or while it answers 404, nothing
 * shows; once it answers, its numbers show as tiles (nested objects flattened: `duration.p95`).
 * Wire charts here when the route's shape is settled.
 */
const METRICS_PATH = '/v1/functions/:name/metrics';
const metricsRoute = Object.entries(routes).find(
  ([, r]) => (r as { path: string; method: string }).path === METRICS_PATH && r.method === 'GET',
)?.[0];

function flatten(o: unknown, prefix = ''): [string, number][] {
  if (typeof o === 'number') return [[prefix, o]];
  if (!o || typeof o !== 'object' || Array.isArray(o)) return [];
  return Object.entries(o).flatMap(([k, v]) => flatten(v, prefix ? `${prefix}.${k}` : k));
}

async function fetchMetrics(c: HearthClient, name: string): Promise<unknown> {
  try {
    return await c.call(metricsRoute as never, { params: { name } } as never);
  } catch (e) {
    if (e instanceof HearthError && e.status === 404) return null;
    throw e;
  }
}

export function FunctionMetrics({ f }: { f: FunctionInfo }) {
  const { client } = useSession();
  const q = useQuery({
    queryKey: fnKeys.metrics(f.name),
    queryFn: () => fetchMetrics(client, f.name),
    enabled: metricsRoute !== undefined,
    refetchInterval: 15_000,
    retry: false,
  });
  const tiles = flatten(q.data);
  if (!metricsRoute || !q.data || tiles.length === 0) return null;
  return (
    <Card title="Metrics" className="mb-4">
      <dl data-testid="fn-metrics" className="grid grid-cols-2 gap-3 text-sm md:grid-cols-4">
        {tiles.map(([k, v]) => (
          <div key={k}>
            <dt className="text-xs text-slate-600 dark:text-slate-300">{k}</dt>
            <dd className="text-lg font-semibold tabular-nums">{Number.isInteger(v) ? v : v.toFixed(1)}</dd>
          </div>
        ))}
      </dl>
    </Card>
  );
}

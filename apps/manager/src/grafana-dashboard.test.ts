import { readFile } from 'node:fs/promises';
import pino from 'pino';
import { afterAll, expect, it } from 'vitest';
import { buildAgentApp } from '@hearth/agent';
import { useApiPlatform } from '../../../test/helpers/api-harness.ts';
import { familyOf, promtoolCheck, readScrape } from '../../../test/helpers/prom.ts';

const DASHBOARD = new URL('../../../deploy/grafana/hearth.json', import.meta.url);

/** PromQL words that are not metric names: aggregations' modifiers and set operators. */
const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
]);

/**
 * The metric names a PromQL expression reads: identifiers outside label matchers, strings,
 * ranges and grouping lists, that are not function calls, keywords or Grafana variables.
 */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '')
    .replace(/\$\w+/g, '');
  const out: string[] = [];
  for (const m of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?/g)) {
    const word = m[0].replace(/\s*\($/, '');
    if (m[1] || KEYWORDS.has(word) || /^\d/.test(word) || /^e\d+$/.test(word)) continue;
    out.push(word);
  }
  return out;
}

/** Every PromQL expression in the dashboard: panel targets and template variable queries. */
function expressions(dashboard: {
  panels: { title: string; targets: { expr: string }[] }[];
  templating: { list: { type: string; query?: { query: string } | string }[] };
}): Array<{ where: string; expr: string }> {
  const out = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ where: p.title, expr: t.expr })));
  for (const v of dashboard.templating.list) {
    if (v.type !== 'query' || !v.query) continue;
    const q = typeof v.query === 'string' ? v.query : v.query.query;
    // label_values(metric, label): the metric is the first argument.
    const lv = /^label_values\((.+),\s*\w+\)$/.exec(q);
    out.push({ where: 'variable', expr: lv ? lv[1]! : q });
  }
  return out;
}

const api = useApiPlatform({});
const agent = buildAgentApp({
  supervisor: {
    list: () => [],
    runningVmIds: () => new Set<string>(),
  } as never,
  callbackToken: 't'.repeat(32),
  log: pino({ level: 'silent' }),
});
afterAll(async () => {
  await agent.close();
});

it('names in its queries only metrics that a scrape of the manager or an agent has', async () => {
  const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8'));
  const manager = await api.inject({ method: 'GET', url: '/metrics' });
  expect(manager.statusCode).toBe(200);
  const agentScrape = await agent.inject({
    method: 'GET',
    url: '/metrics',
    headers: { authorization: `Bearer ${'t'.repeat(32)}` },
  });
  expect(agentScrape.statusCode).toBe(200);
  for (const text of [manager.body, agentScrape.body])
    expect(promtoolCheck(text)).toEqual({ code: 0, output: '' });

  // Families (with their TYPE lines, present before any sample) and their series' names.
  const known = new Set<string>();
  for (const text of [manager.body, agentScrape.body]) {
    const { types, samples } = readScrape(text);
    for (const [name, type] of types) {
      known.add(name);
      if (type === 'histogram') ['_bucket', '_sum', '_count'].forEach((s) => known.add(name + s));
      if (type === 'counter' && !name.endsWith('_total')) known.add(`${name}_total`);
    }
    for (const s of samples) if (familyOf(s.name, types)) known.add(s.name);
  }
  const exprs = expressions(dashboard);
  expect(exprs.length).toBeGreaterThan(15);
  const unknown = exprs.flatMap(({ where, expr }) =>
    metricNames(expr)
      .filter((n) => !known.has(n))
      .map((n) => `${where}: ${n}`),
  );
  expect(unknown).toEqual([]);
});

it('finds a metric that no scrape has (the check can fail)', () => {
  expect(
    metricNames(
      'sum by (state) (hearth_vms_missing{state="x"}[5m]) / on (vm) group_left (name) hearth_vm_info',
    ),
  ).toEqual(['hearth_vms_missing', 'hearth_vm_info']);
  expect(metricNames('histogram_quantile(0.95, sum by (le) (rate(a_bucket[$__rate_interval])))')).toEqual([
    'a_bucket',
  ]);
});

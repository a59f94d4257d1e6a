import { spawnSync } from 'node:child_process';

/**
 * `promtool check metrics` (Debian's prometheus package, installed by scripts/setup.sh): the
 * Prometheus project's own exposition parser and linter, reading the scrape on stdin. Exit 0:
 * it parsed and passed the lint; 1: it did not parse; 3: lint problems (listed in `output`).
 */
export function promtoolCheck(text: string): { code: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) throw new Error(`running promtool failed (scripts/setup.sh installs it): ${r.error.message}`);
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Families by name (their TYPE) and samples, read from exposition text that promtool already
 * accepted: for the tests' assertions on names and labels, not a second validity check.
 */
export function readScrape(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { types, samples };
}

/** The family a sample belongs to (histogram and summary series carry suffixes). */
export function familyOf(sample: string, types: Map<string, string>): string | null {
  if (types.has(sample)) return sample;
  for (const suffix of ['_bucket', '_sum', '_count', '_total', '_created']) {
    const base = sample.endsWith(suffix) ? sample.slice(0, -suffix.length) : null;
    if (base && types.has(base)) return base;
  }
  return null;
}

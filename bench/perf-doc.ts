// What bench/run-all.ts writes into docs/performance.md: the rows of the performance table it
// expects, the parsing of the `BENCH-ROW {json}` lines the scripts print, and the table block
// spliced between two markers so the prose sections around it stay as their authors wrote them.
import { ROW_PREFIX, type BenchRow } from './report.ts';

/** One row of the performance table and the script that measures it. */
export interface Figure {
  /** Worded as the scripts' `report({ figure })`; matched case- and space-insensitively, by prefix. */
  figure: string;
  /** The bench script (file name under bench/) that reports it. */
  script: string;
}

export const FIGURES: readonly Figure[] = [
  { figure: 'API create → guest agent ready', script: 'boot.ts' },
  { figure: 'restore from snapshot → first exec', script: 'snapshots.ts' },
  { figure: 'create → first exec from a warm pool', script: 'pool.ts' },
  // Measured on the VMs the density run boots (bench/memory.ts and agent-memory.ts alone report them too).
  { figure: 'QEMU RSS per idle 128 MiB VM', script: 'density.ts' },
  { figure: 'agent RSS idle / with 20 VMs', script: 'density.ts' },
  { figure: 'idle VMs held', script: 'density.ts' },
  { figure: 'VM records/s with `start:false`', script: 'api.ts' },
  { figure: '`GET /v1/vms`', script: 'api.ts' },
  { figure: 'file upload / download through the API', script: 'guest.ts' },
  { figure: '10 VMs created in parallel', script: 'parallel.ts' },
];

export const BEGIN = '<!-- bench:begin (written by `npm run bench`; edit outside these markers) -->';
export const END = '<!-- bench:end -->';

/** The rows one script printed, and the lines that looked like rows but were not. */
export interface Parsed {
  rows: BenchRow[];
  bad: string[];
}

function isRow(v: unknown): v is BenchRow {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r.figure === 'string' &&
    r.figure.length > 0 &&
    typeof r.value === 'string' &&
    (r.baseline === null || typeof r.baseline === 'string') &&
    (r.ratio === null || (typeof r.ratio === 'number' && Number.isFinite(r.ratio))) &&
    typeof r.target === 'string' &&
    typeof r.met === 'boolean'
  );
}

/** Picks the `BENCH-ROW {json}` lines out of a script's output (anywhere on a line, after a prefix). */
export function parseRows(output: string): Parsed {
  const parsed: Parsed = { rows: [], bad: [] };
  for (const line of output.split('\n')) {
    const at = line.indexOf(ROW_PREFIX);
    if (at < 0) continue;
    const json = line.slice(at + ROW_PREFIX.length).trim();
    try {
      const v: unknown = JSON.parse(json);
      if (isRow(v)) parsed.rows.push(v);
      else parsed.bad.push(line);
    } catch {
      parsed.bad.push(line);
    }
  }
  return parsed;
}

const norm = (s: string) =>
  s
    .toLowerCase()
    .replace(/[\s`]+/g, ' ')
    .trim();

/** The table figure a reported row belongs to, or null for a row the table does not list. */
export function figureOf(row: BenchRow, figures: readonly Figure[] = FIGURES): Figure | null {
  const f = norm(row.figure);
  return figures.find((x) => f.startsWith(norm(x.figure))) ?? null;
}

/** How one script's run went, as the table's notes say it. */
export interface ScriptRun {
  script: string;
  /** `ok`, `failed` (non-zero exit), `timeout` (budget spent, killed), `absent` (no such file), `skipped`. */
  outcome: 'ok' | 'failed' | 'timeout' | 'absent' | 'skipped';
  seconds: number;
  /** Why, in a few words, when not `ok` (exit code, last error line). */
  detail?: string;
  rows: BenchRow[];
}

export interface Machine {
  cpu: string;
  cores: number;
  memory: string;
  kernel: string;
  qemu: string;
  accel: string;
  node: string;
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function ratioText(r: number | null): string {
  return r === null ? '—' : r.toFixed(2);
}

/** The figures of the table no run reported, each with the script that should have. */
export function missingFigures(runs: ScriptRun[], figures: readonly Figure[] = FIGURES): Figure[] {
  const seen = new Set<Figure>();
  for (const run of runs) {
    for (const row of run.rows) {
      const f = figureOf(row, figures);
      if (f) seen.add(f);
    }
  }
  return figures.filter((f) => !seen.has(f));
}

/** The block between the markers: table, missing rows, the scripts' outcomes, date, machine, command. */
export function renderBlock(o: {
  runs: ScriptRun[];
  machine: Machine;
  date: Date;
  command: string;
  totalSeconds: number;
  figures?: readonly Figure[];
}): string {
  const figures = o.figures ?? FIGURES;
  const rows = o.runs.flatMap((r) => r.rows);
  // Table order: the issue's order, then rows the table does not list, in the order they came.
  const order = (row: BenchRow) => {
    const f = figureOf(row, figures);
    return f ? figures.indexOf(f) : figures.length;
  };
  const sorted = rows.map((row, i) => ({ row, i })).sort((a, b) => order(a.row) - order(b.row) || a.i - b.i);
  const lines = [
    BEGIN,
    '',
    '| figure | value | baseline | ratio | target | met |',
    '|---|---|---|---|---|---|',
    ...sorted.map(
      ({ row }) =>
        `| ${cell(row.figure)} | ${cell(row.value)} | ${cell(row.baseline ?? '—')} | ${ratioText(row.ratio)} | ${cell(row.target)} | ${row.met ? 'yes' : '**no**'} |`,
    ),
  ];
  if (rows.length === 0) lines.push('| (no script reported a row) | | | | | |');
  const missing = missingFigures(o.runs, figures);
  if (missing.length) {
    lines.push('', 'Not measured in this run:', '');
    for (const f of missing) {
      const run = o.runs.find((r) => r.script === f.script);
      const why = !run
        ? 'not run'
        : run.outcome === 'absent'
          ? `bench/${f.script} does not exist yet`
          : run.outcome === 'ok'
            ? `bench/${f.script} ran but reported no row for it`
            : `bench/${f.script} ${run.outcome}${run.detail ? ` (${run.detail})` : ''}`;
      lines.push(`- ${f.figure}: ${why}`);
    }
  }
  const troubled = o.runs.filter((r) => r.outcome !== 'ok' && r.outcome !== 'absent');
  if (troubled.length) {
    lines.push('', 'Scripts that did not finish cleanly:', '');
    for (const r of troubled)
      lines.push(`- bench/${r.script}: ${r.outcome}${r.detail ? ` (${cell(r.detail)})` : ''}`);
  }
  const m = o.machine;
  const times = o.runs.filter((r) => r.outcome !== 'absent' && r.outcome !== 'skipped');
  if (times.length)
    lines.push(
      '',
      `Time per script: ${times.map((r) => `${r.script} ${Math.round(r.seconds)} s`).join(', ')}.`,
    );
  lines.push(
    '',
    `Measured ${o.date.toISOString().replace(/\.\d+Z$/, 'Z')} in ${Math.round(o.totalSeconds)} s with \`${o.command}\`.`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memory} memory; kernel ${m.kernel}; ${m.qemu}; accel ${m.accel}; Node.js ${m.node}.`,
    '',
    END,
  );
  return lines.join('\n');
}

/**
 * `doc` with its block between the markers replaced by `block` (markers included in `block`).
 * A document without the markers gets the block after its title (or as a new document), so the
 * prose sections the other scripts' authors wrote stay where they are, byte for byte.
 */
export function spliceBlock(doc: string, block: string): string {
  const b = doc.indexOf('<!-- bench:begin');
  const e = doc.indexOf(END);
  if (b >= 0 && e > b) return doc.slice(0, b) + block + doc.slice(e + END.length);
  if (doc.trim() === '') return `# Performance\n\n${block}\n`;
  const title = /^# .*\n/m.exec(doc);
  if (title && title.index === 0) {
    const at = title[0].length;
    return `${doc.slice(0, at)}\n${block}\n${doc.slice(at)}`;
  }
  return `${block}\n\n${doc}`;
}

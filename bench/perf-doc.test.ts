import { describe, expect, it } from 'vitest';
import { BEGIN, END, FIGURES, parseRows, renderBlock, spliceBlock, type ScriptRun } from './perf-doc.ts';
import { ROW_PREFIX, type BenchRow } from './report.ts';

const row = (figure: string, over: Partial<BenchRow> = {}): BenchRow => ({
  figure,
  value: 'p50 812 ms',
  baseline: 'p50 700 ms',
  ratio: 1.16,
  target: '≤ 1.15',
  met: false,
  ...over,
});

const machine = {
  cpu: 'Test CPU',
  cores: 2,
  memory: '23.5 GiB',
  kernel: '6.1.0',
  qemu: 'QEMU emulator version 7.2.0',
  accel: 'tcg',
  node: '20.19.0',
};

const block = (runs: ScriptRun[]) =>
  renderBlock({
    runs,
    machine,
    date: new Date('2026-12-04T21:00:00Z'),
    command: 'npm run bench',
    totalSeconds: 61,
  });

describe('parseRows', () => {
  it('keeps the rows among human lines and sets aside malformed ones', () => {
    const good = row('API create → guest agent ready');
    const out = [
      'boot benchmark: 10 API boots',
      ROW_PREFIX + JSON.stringify(good),
      `[boot.ts] ${ROW_PREFIX}${JSON.stringify(row('10 VMs created in parallel', { baseline: null, ratio: null }))}`,
      `${ROW_PREFIX}{"figure": "x", "value": 3}`,
      `${ROW_PREFIX}{not json`,
      'failures or hangs: 0 of 20',
    ].join('\n');
    const { rows, bad } = parseRows(out);
    expect(rows).toEqual([good, row('10 VMs created in parallel', { baseline: null, ratio: null })]);
    expect(bad).toHaveLength(2);
  });
});

describe('renderBlock', () => {
  it('puts rows in the table order, lists the figures nobody reported and why', () => {
    const runs: ScriptRun[] = [
      {
        script: 'parallel.ts',
        outcome: 'ok',
        seconds: 40,
        rows: [row('10 VMs created in parallel', { met: true })],
      },
      { script: 'boot.ts', outcome: 'ok', seconds: 50, rows: [row('API create → guest agent ready')] },
      { script: 'pool.ts', outcome: 'absent', seconds: 0, rows: [] },
      { script: 'density.ts', outcome: 'timeout', seconds: 300, detail: 'stopped after 300 s', rows: [] },
      { script: 'guest.ts', outcome: 'ok', seconds: 30, rows: [] },
    ];
    const text = block(runs);
    expect(text.startsWith(BEGIN)).toBe(true);
    expect(text.endsWith(END)).toBe(true);
    const table = text.split('\n').filter((l) => l.startsWith('| '));
    expect(table[0]).toBe('| figure | value | baseline | ratio | target | met |');
    expect(table[1]).toBe(
      '| API create → guest agent ready | p50 812 ms | p50 700 ms | 1.16 | ≤ 1.15 | **no** |',
    );
    expect(table[2]).toBe('| 10 VMs created in parallel | p50 812 ms | p50 700 ms | 1.16 | ≤ 1.15 | yes |');
    expect(text).toContain('- create → first exec from a warm pool: bench/pool.ts does not exist yet');
    expect(text).toContain('- idle VMs held: bench/density.ts timeout (stopped after 300 s)');
    expect(text).toContain(
      '- file upload / download through the API: bench/guest.ts ran but reported no row for it',
    );
    // Rows one script measures for several figures: each is listed with that script's outcome.
    expect(text).toContain('- QEMU RSS per idle 128 MiB VM: bench/density.ts timeout (stopped after 300 s)');
    expect(text).toContain('- VM records/s with `start:false`: not run');
    expect(text).toContain(
      'Time per script: parallel.ts 40 s, boot.ts 50 s, density.ts 300 s, guest.ts 30 s.',
    );
    expect(text).not.toContain('- API create → guest agent ready:');
    expect(text).toContain(
      'Machine: Test CPU, 2 cores, 23.5 GiB memory; kernel 6.1.0; QEMU emulator version 7.2.0; accel tcg',
    );
    expect(text).toContain('Measured 2026-12-04T21:00:00Z in 61 s with `npm run bench`.');
  });

  it('matches a reported figure to its table row by prefix, ignoring case, spacing and backticks', () => {
    const runs: ScriptRun[] = [
      {
        script: 'api.ts',
        outcome: 'ok',
        seconds: 9,
        rows: [row('VM records/s with start:false, PostgreSQL'.replace('start:false', '`start:false`'))],
      },
    ];
    expect(block(runs)).not.toContain('- VM records/s');
    expect(FIGURES.length).toBe(10);
  });
});

describe('spliceBlock', () => {
  const prose = [
    '# Performance',
    '',
    '## Boot path',
    '',
    'Each step is timed | with a pipe and <!-- a comment -->.',
    '',
    '## Memory and density',
    '',
    'KSM merges pages.',
    '',
  ].join('\n');

  it('keeps every prose section byte for byte and replaces only the previous block', () => {
    const first = spliceBlock(prose, `${BEGIN}\nold table\n${END}`);
    expect(first).toContain('## Boot path\n\nEach step is timed | with a pipe and <!-- a comment -->.');
    const second = spliceBlock(first, `${BEGIN}\nnew table\n${END}`);
    expect(second).not.toContain('old table');
    expect(second).toContain('new table');
    expect(second.replace(`${BEGIN}\nnew table\n${END}`, '')).toBe(
      first.replace(`${BEGIN}\nold table\n${END}`, ''),
    );
    expect(second.replace(/\n?<!-- bench:begin[\s\S]*<!-- bench:end -->\n?/, '')).toBe(prose);
  });

  it('starts a document when there is none', () => {
    expect(spliceBlock('', `${BEGIN}\nt\n${END}`)).toBe(`# Performance\n\n${BEGIN}\nt\n${END}\n`);
  });
});

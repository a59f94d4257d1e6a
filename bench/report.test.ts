import { afterEach, describe, expect, it, vi } from 'vitest';
import { ROW_PREFIX, report, stopReporting } from './report.ts';

const row = { figure: 'f', value: 'v', baseline: null, ratio: null, target: 't', met: true };

describe('report', () => {
  afterEach(() => vi.restoreAllMocks());

  it('prints rows until the script is told to stop, then none', () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    report(row);
    expect(log).toHaveBeenCalledWith(ROW_PREFIX + JSON.stringify(row));
    stopReporting();
    report({ ...row, figure: 'after the stop' });
    expect(log).toHaveBeenCalledTimes(1);
  });
});

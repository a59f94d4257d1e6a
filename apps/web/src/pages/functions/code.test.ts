import { describe, expect, it } from 'vitest';
import type { FunctionVersion } from '@hearth/contract';
import { errorLine, functionState, moduleFile, parseEnv, parseEvent } from './code.ts';

const v = (version: number, state: FunctionVersion['state']): FunctionVersion => ({
  version,
  state,
  runtime: 'node22',
  handler: 'index.handler',
  snapshot: null,
  error: null,
  buildMs: null,
  createdAt: '2026-01-01T00:00:00.000Z',
});

describe('function code helpers', () => {
  it('names the module file of a handler per runtime', () => {
    expect(moduleFile('node22', 'index.handler')).toBe('index.js');
    expect(moduleFile('python3.13', 'main.handler')).toBe('main.py');
    expect(moduleFile('ruby3', 'src/app.handler')).toBe('src/app.rb');
  });

  it("finds the line of a build error in each runtime's words, for the right file only", () => {
    const node =
      'Deploying function "a" failed: loading index.handler raised SyntaxError: Unexpected token \';\' (/var/task/index.js:2)';
    expect(errorLine(node, 'index.js')).toBe(2);
    expect(errorLine(node, 'other.js')).toBeNull();
    expect(errorLine('  File "/var/task/main.py", line 3\n    return (', 'main.py')).toBe(3);
    expect(errorLine("/var/task/app.rb:7: syntax error, unexpected ')'", 'app.rb')).toBe(7);
    expect(errorLine('no place at all', 'index.js')).toBeNull();
  });

  it('derives a state from the versions and the live alias', () => {
    expect(functionState([], undefined)).toBe('none');
    expect(functionState([v(1, 'building')], undefined)).toBe('building');
    expect(functionState([v(2, 'building'), v(1, 'ready')], 1)).toBe('building');
    expect(functionState([v(2, 'failed'), v(1, 'ready')], 1)).toBe('ready');
    expect(functionState([v(1, 'failed')], undefined)).toBe('failed');
  });

  it('parses env lines and the event JSON, saying what is wrong', () => {
    expect(parseEnv('A=1\n\nB = x=y')).toEqual({ value: { A: '1', B: ' x=y' }, error: null });
    expect(parseEnv('nope').error).toMatch(/NAME=value.*nope/);
    expect(parseEvent('')).toEqual({ event: {}, error: null });
    expect(parseEvent('{"n": 2}')).toEqual({ event: { n: 2 }, error: null });
    expect(parseEvent('{n').error).toMatch(/not JSON/);
  });
});

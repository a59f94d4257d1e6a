import { describe, expect, it } from 'vitest';
import { TEMPLATE } from './code.ts';
import { newDraft, switchRuntime, toCreateBody, toDeployBody } from './form.ts';

describe('function drafts', () => {
  it("starts with the runtime's template, and swaps it for another runtime's while untouched", () => {
    const d = newDraft();
    expect(d).toMatchObject({ runtime: 'node22', handler: 'index.handler', open: 'index.js' });
    const py = switchRuntime(d, 'python3.13');
    expect(py).toMatchObject({
      handler: 'main.handler',
      open: 'main.py',
      files: { 'main.py': TEMPLATE['python3.13'] },
    });
    const edited = { ...py, files: { 'main.py': 'def handler(e, c): return 1\n' } };
    // Edited code stays; only the default handler follows the runtime.
    expect(switchRuntime(edited, 'ruby3')).toMatchObject({
      runtime: 'ruby3',
      handler: 'app.handler',
      files: edited.files,
    });
  });

  it("checks a body with the contract's schema and sends only what was given", () => {
    const d = { ...newDraft(), memoryMib: '', timeoutS: '5', env: 'A=1' };
    const ok = toDeployBody(d);
    expect(ok.body).toEqual({
      runtime: 'node22',
      handler: 'index.handler',
      files: d.files,
      timeoutS: 5,
      env: { A: '1' },
      memoryMib: undefined,
    });
    expect(JSON.parse(JSON.stringify(ok.body))).not.toHaveProperty('memoryMib');
    const bad = toCreateBody('Bad Name', { ...d, handler: 'nodot', memoryMib: '64', env: 'oops' });
    expect(bad.body).toBeNull();
    expect(Object.keys(bad.errors).sort()).toEqual(['env', 'handler', 'memoryMib', 'name']);
  });
});

import { describe, expect, it } from 'vitest';
import { HearthError } from '@hearth/contract';
import { EnvdError } from '../context.ts';
import { entryInfo, permissionString } from './entries.ts';
import { envdCode, resolvePath } from './guest.ts';

describe('envd entry shapes and paths', () => {
  it('prints permissions as Go FileMode.String() does', () => {
    expect(permissionString('file', 0o644)).toBe('-rw-r--r--');
    expect(permissionString('dir', 0o755)).toBe('drwxr-xr-x');
    expect(permissionString('dir', 0o1777)).toBe('dtrwxrwxrwx');
    expect(permissionString('symlink', 0o777)).toBe('Lrwxrwxrwx');
    expect(permissionString('file', 0o4755)).toBe('urwxr-xr-x');
    expect(permissionString('file', 0o2750)).toBe('grwxr-x---');
  });

  it('maps a guest stat onto EntryInfo JSON (int64 as string, enum names, absolute link target)', () => {
    const owners = new Map([['/a/l', { owner: 'alice', group: 'staff' }]]);
    expect(
      entryInfo(
        {
          path: '/a/l',
          name: 'l',
          type: 'symlink',
          size: 3,
          mode: 0o777,
          mtime: '2026-01-02T03:04:05.000Z',
          linkTarget: '../b',
        },
        owners,
      ),
    ).toEqual({
      name: 'l',
      type: 'FILE_TYPE_SYMLINK',
      path: '/a/l',
      size: '3',
      mode: 0o777,
      permissions: 'Lrwxrwxrwx',
      owner: 'alice',
      group: 'staff',
      modifiedTime: '2026-01-02T03:04:05.000Z',
      symlinkTarget: '/b',
    });
    expect(
      entryInfo({ path: '/', name: '/', type: 'dir', size: 0, mode: 0o755, mtime: '' }, new Map()),
    ).toMatchObject({
      name: '/',
      type: 'FILE_TYPE_DIRECTORY',
      owner: '',
    });
  });

  it('resolves ~, relative paths and .. against the user home as envd does', () => {
    const alice = { name: 'alice', uid: 1000, gid: 1000, home: '/home/alice' };
    expect(resolvePath('~/x', alice)).toBe('/home/alice/x');
    expect(resolvePath('~', alice)).toBe('/home/alice');
    expect(resolvePath('', alice)).toBe('/home/alice');
    expect(resolvePath('a/../b', alice)).toBe('/home/alice/b');
    expect(resolvePath('/x/../../y/', alice)).toBe('/y');
    expect(() => resolvePath('~bob/x', alice)).toThrow(EnvdError);
  });

  it("maps the catalogue's guest errors onto Connect codes", () => {
    expect(envdCode(new HearthError('GUEST_PATH_NOT_FOUND', 'gone')).code).toBe('not_found');
    expect(envdCode(new HearthError('GUEST_PATH_WRONG_TYPE', 'dir')).code).toBe('invalid_argument');
    expect(envdCode(new HearthError('VM_NOT_RUNNING', 'paused')).code).toBe('unavailable');
    expect(envdCode(new Error('boom'))).toMatchObject({ code: 'internal', message: 'boom' });
  });
});

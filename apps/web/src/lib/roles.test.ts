import { describe, expect, it } from 'vitest';
import type { Me } from '@hearth/contract';
import { denial, fallbackProject, isAdmin, roleIn } from './roles.ts';

const me = (over: Partial<Me> = {}): Me => ({
  user: null,
  admin: false,
  via: 'token',
  projects: [
    { name: 'a', role: 'viewer' },
    { name: 'b', role: 'owner' },
  ],
  defaultProject: 'a',
  csrf: null,
  ceiling: null,
  scope: null,
  ...over,
});

describe('roles in the dashboard', () => {
  it('follows the route table per project', () => {
    expect(denial(me(), 'a', 'listVms')).toBeNull();
    expect(denial(me(), 'a', 'createVm')).toBe('Needs the operator role in project a; you have viewer.');
    expect(denial(me(), 'b', 'createVm')).toBeNull();
    expect(denial(me(), 'b', 'putMember')).toBeNull();
    expect(denial(me(), 'a', 'putMember')).toMatch(/owner role/);
    expect(denial(me(), 'c', 'listVms')).toBe('You are not a member of project c.');
    expect(denial(me(), 'c', 'listTokens')).toBeNull();
  });

  it('gives administrators every role and the admin routes, non-administrators none of those', () => {
    expect(denial(me(), 'a', 'createUser')).toBe('Needs a platform administrator.');
    expect(denial(me({ admin: true, projects: [] }), 'c', 'deleteMember')).toBeNull();
    expect(denial(me({ admin: true }), 'a', 'createProject')).toBeNull();
    expect(roleIn(me({ admin: true }), 'zzz')).toBe('owner');
  });

  it("caps by a token's ceiling and scope", () => {
    const capped = me({ admin: true, ceiling: 'operator' });
    expect(isAdmin(capped)).toBe(false);
    expect(denial(capped, 'b', 'createUser')).toBe('Needs a platform administrator.');
    expect(denial(capped, 'b', 'createVm')).toBeNull();
    expect(denial(capped, 'b', 'putMember')).toMatch(/you have operator/);
    expect(roleIn(me({ ceiling: 'owner' }), 'a')).toBe('viewer');
    const scoped = me({ scope: 'b' });
    expect(denial(scoped, 'a', 'listVms')).toBe('This token acts in project b only.');
    expect(denial(scoped, 'b', 'deleteMember')).toBeNull();
    expect(roleIn(scoped, 'a')).toBeNull();
  });

  it("falls back from a project that is not the caller's to their default, else their first", () => {
    expect(fallbackProject(me(), 'b')).toBeNull();
    expect(fallbackProject(me(), null)).toBeNull();
    expect(fallbackProject(me(), 'gone')).toBe('a');
    expect(fallbackProject(me({ defaultProject: 'default' }), 'gone')).toBe('a');
    expect(fallbackProject(me({ projects: [], defaultProject: 'default' }), 'gone')).toBe('default');
    expect(fallbackProject(me({ projects: [], defaultProject: 'default' }), 'default')).toBeNull();
    expect(fallbackProject(me({ admin: true }), 'anything')).toBeNull();
    expect(fallbackProject(me({ scope: 'b' }), 'a')).toBe('b');
  });
});

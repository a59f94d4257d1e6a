import { describe, expect, it } from 'vitest';
import type { Vm, Volume } from '@hearth/contract';
import { attachTargets, resizeError, volumeBlockers } from './attach.ts';

const vol = (over: Partial<Volume> = {}): Volume => ({
  id: 'vol_1',
  name: 'data',
  project: 'default',
  sizeMib: 1024,
  format: 'ext4',
  host: 'host_a',
  attachedTo: null,
  serial: 'abc',
  image: null,
  createdAt: '2025-01-01T00:00:00Z',
  ...over,
});
const vm = (id: string, state: Vm['state'], host: string | null = 'host_a') =>
  ({ id, name: id, state, host }) as Vm;
const names = (id: string) => ({ host_a: 'alpha', host_b: 'beta' })[id] ?? id;

describe('attach targets', () => {
  it('accepts stopped and created VMs on the volume host, and says why the others are refused', () => {
    const t = attachTargets(
      vol(),
      [
        vm('run', 'running'),
        vm('other', 'stopped', 'host_b'),
        vm('new', 'created'),
        vm('off', 'stopped'),
        vm('nowhere', 'creating', null),
      ],
      names,
    );
    expect(t.map((x) => [x.vm.id, x.reason])).toEqual([
      ['new', null],
      ['off', null],
      ['run', 'running; stop it first (no disk hot-plug)'],
      ['other', 'on host beta; the volume lives on alpha'],
      ['nowhere', 'not placed on a host yet'],
    ]);
  });

  it('refuses every VM while the volume is attached', () => {
    expect(attachTargets(vol({ attachedTo: 'x' }), [vm('off', 'stopped')], names)[0]!.reason).toMatch(
      /detach it first/,
    );
  });

  it('detach and resize need the VM stopped; delete needs the volume detached', () => {
    expect(volumeBlockers(vol(), undefined)).toEqual({ detach: 'not attached', resize: null, delete: null });
    const running = vm('web', 'running');
    expect(volumeBlockers(vol({ attachedTo: 'web' }), running)).toEqual({
      detach: 'web is running; stop it first',
      resize: 'web is running; stop it first',
      delete: 'attached to web; detach it first',
    });
    expect(volumeBlockers(vol({ attachedTo: 'web' }), vm('web', 'stopped'))).toMatchObject({
      detach: null,
      resize: null,
    });
  });

  it('resize only grows, reading sizes as the API does', () => {
    expect(resizeError(vol(), '2gb')).toBeNull();
    expect(resizeError(vol(), '1gb')).toMatch(/larger than the current 1024 MiB/);
    expect(resizeError(vol(), '512mib')).toMatch(/only grow/);
    expect(resizeError(vol(), 'lots')).toMatch(/look like/);
  });
});

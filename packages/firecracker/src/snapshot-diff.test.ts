import { cp, open, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataExtents } from './extents.ts';
import type { FirecrackerInstance } from './instance.ts';
import type { FirecrackerSnapshotInfo } from './snapshot.ts';
import { testEnv, type TestEnv } from './test-env.ts';

const PAGE = 4096;
const PAGES = 8;

const fill = (byte: number) => Buffer.alloc(PAGE, byte);

/** A full memory file: page i is all 0x10 + i. */
function baseMemory(): Buffer {
  return Buffer.concat(Array.from({ length: PAGES }, (_, i) => fill(0x10 + i)));
}

/** A sparse diff memory file as Firecracker writes one: holes everywhere but the dirtied pages. */
async function writeDiff(path: string, pages: Record<number, Buffer>): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.truncate(PAGES * PAGE);
    for (const [i, data] of Object.entries(pages)) await fh.write(data, 0, PAGE, Number(i) * PAGE);
  } finally {
    await fh.close();
  }
}

const readInfo = async (dir: string) =>
  JSON.parse(await readFile(join(dir, 'snapshot.json'), 'utf8')) as FirecrackerSnapshotInfo;

describe('Firecracker diff snapshots against the contract checker', () => {
  let env: TestEnv;
  let source: FirecrackerInstance;
  const snap = (name: string) => join(env.dir, 'snaps', name);

  beforeAll(async () => {
    env = await testEnv();
    await env.standin();
    const driver = env.driver({ trackDirtyPages: true });
    source = (await driver.launch(await env.spec('src'))) as FirecrackerInstance;
    env.track(source.pid);
  });
  afterAll(async () => {
    await source?.kill();
    await env?.dispose();
  });

  /** A copy of snapshot `from` named `name`, its record changed by `patch`. */
  async function craft(
    name: string,
    from: string,
    patch: (i: FirecrackerSnapshotInfo) => FirecrackerSnapshotInfo,
  ) {
    await cp(snap(from), snap(name), { recursive: true });
    await writeFile(join(snap(name), 'snapshot.json'), JSON.stringify(patch(await readInfo(snap(from)))));
    return snap(name);
  }

  /** Restores `dir` into a fresh VM; returns the error, after checking no Firecracker was asked anything. */
  async function refusal(dir: string, vm: string): Promise<string> {
    await env.standin();
    const err = await env
      .driver()
      .restore(await env.spec(vm), dir)
      .then(
        async (inst) => {
          await inst.kill(); // restored although it should not have been: leave no process behind
          return null;
        },
        (e: Error) => e,
      );
    expect(err).toBeInstanceOf(Error);
    expect(await env.calls()).toEqual([]);
    return err!.message;
  }

  it('refuses a diff before this process took or restored any snapshot: it would have no base', async () => {
    await env.standin();
    await expect(source.snapshot(snap('early'), { type: 'diff' })).rejects.toThrow(
      /^Creating a diff snapshot failed: this Firecracker process has no snapshot a diff could build on \(none taken or restored yet.*take a full snapshot first$/,
    );
    expect(await env.calls()).toEqual([]);
  });

  it('takes a full snapshot, then diffs that each record the snapshot before them as base', async () => {
    await env.standin();
    await source.snapshot(snap('full'));
    const d1 = await source.snapshot(snap('d1'), { type: 'diff' });
    const d2 = await source.snapshot(snap('d2'), { type: 'diff' });
    const full = await readInfo(snap('full'));
    expect(full.firecracker.base).toBeUndefined();
    expect(d1).toMatchObject({ type: 'diff', vmId: 'vm_src' });
    expect((d1 as FirecrackerSnapshotInfo).firecracker.base).toEqual({
      dir: resolve(snap('full')),
      vmId: 'vm_src',
      createdAt: full.createdAt,
    });
    expect((await readInfo(snap('d2'))).firecracker.base).toEqual({
      dir: resolve(snap('d1')),
      vmId: 'vm_src',
      createdAt: d1.createdAt,
    });
    expect(d2.type).toBe('diff');
    const seq = (await env.calls()).map(
      (c) =>
        `${c.method} ${c.path} ${String((c.body as { snapshot_type?: string } | null)?.snapshot_type ?? '')}`,
    );
    expect(seq).toEqual([
      ...['GET / ', 'PATCH /vm ', 'PUT /snapshot/create Full', 'PATCH /vm '],
      ...['GET / ', 'PATCH /vm ', 'PUT /snapshot/create Diff', 'PATCH /vm '],
      ...['GET / ', 'PATCH /vm ', 'PUT /snapshot/create Diff', 'PATCH /vm '],
    ]);
  });

  it('restores the last diff: its chain merged onto a copy of the base, in order, holes keeping the base, zero pages kept', async () => {
    // Known memory: the checker writes stand-in files, so the test writes what Firecracker would.
    const base = baseMemory();
    await writeFile(join(snap('full'), 'memory.snap'), base);
    await writeDiff(join(snap('d1'), 'memory.snap'), { 1: fill(0xa1), 3: fill(0), 5: fill(0xb5) });
    await writeDiff(join(snap('d2'), 'memory.snap'), { 5: fill(0xc5), 7: fill(0) });
    // The files are what the merge relies on: a zero page is data, not a hole.
    expect((await dataExtents(join(snap('d1'), 'memory.snap'))).extents).toEqual([
      [1 * PAGE, PAGE],
      [3 * PAGE, PAGE],
      [5 * PAGE, PAGE],
    ]);
    await env.standin();
    const spec = await env.spec('clone', { tap: { name: 'htapdclone', mac: '02:00:00:00:00:0a' } });
    const inst = (await env.driver().restore(spec, snap('d2'))) as FirecrackerInstance;
    env.track(inst.pid);
    const calls = await env.calls();
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'PUT /logger',
      'PUT /metrics',
      'PUT /snapshot/load',
      'PUT /mmds',
    ]);
    expect(calls[2]!.body).toMatchObject({
      snapshot_path: 'restore.vmstate',
      mem_backend: { backend_type: 'File', backend_path: 'restore.mem' },
      track_dirty_pages: true,
    });
    expect(calls.every((c) => c.status === 204)).toBe(true);
    const expected = Buffer.from(base);
    fill(0xa1).copy(expected, 1 * PAGE);
    fill(0).copy(expected, 3 * PAGE);
    fill(0xc5).copy(expected, 5 * PAGE);
    fill(0).copy(expected, 7 * PAGE);
    const merged = await readFile(join(spec.runDir, 'restore.mem'));
    expect(merged.length).toBe(PAGES * PAGE);
    for (let i = 0; i < PAGES; i++) {
      expect(
        merged.subarray(i * PAGE, (i + 1) * PAGE).equals(expected.subarray(i * PAGE, (i + 1) * PAGE)),
        `page ${i}`,
      ).toBe(true);
    }
    // The state loaded is the last diff's own; the base's memory file is left as it was.
    expect(await readFile(join(spec.runDir, 'restore.vmstate'), 'utf8')).toBe(
      await readFile(join(snap('d2'), 'vmstate.snap'), 'utf8'),
    );
    expect((await readFile(join(snap('full'), 'memory.snap'))).equals(base)).toBe(true);
    expect(await inst.status()).toBe('running');
    // A clone is another VM: its diffs would need a base of its own.
    await expect(inst.snapshot(snap('clone-d'), { type: 'diff' })).rejects.toThrow(
      /restored from a snapshot of VM vm_src, and a diff needs a base of its own VM; take a full snapshot first/,
    );
    await inst.kill();
  });

  it('a diff taken after restoring a diff builds on it: the chain grows by one and still merges', async () => {
    await env.standin();
    const spec = await env.spec('again', { vmId: 'vm_src' });
    const inst = (await env.driver().restore(spec, snap('d2'))) as FirecrackerInstance;
    env.track(inst.pid);
    const d3 = (await inst.snapshot(snap('d3'), { type: 'diff' })) as FirecrackerSnapshotInfo;
    expect(d3.firecracker.base?.dir).toBe(resolve(snap('d2')));
    await inst.kill();
    await writeDiff(join(snap('d3'), 'memory.snap'), { 0: fill(0xd0) });
    const spec2 = await env.spec('again2', { vmId: 'vm_src' });
    const inst2 = (await env.driver().restore(spec2, snap('d3'))) as FirecrackerInstance;
    env.track(inst2.pid);
    const merged = await readFile(join(spec2.runDir, 'restore.mem'));
    expect([0, 1, 2, 3, 5, 6, 7].map((i) => merged[i * PAGE])).toEqual([0xd0, 0xa1, 0x12, 0, 0xc5, 0x16, 0]);
    await inst2.kill();
  });

  it('refuses a chain whose base is missing, replaced, of another VM or of another Firecracker', async () => {
    const gone = await craft('to-gone', 'd1', (i) => ({
      ...i,
      firecracker: { ...i.firecracker, base: { ...i.firecracker.base!, dir: join(env.dir, 'nowhere') } },
    }));
    expect(await refusal(gone, 'r1')).toMatch(
      /^Restoring the snapshot failed: the base snapshot \S+nowhere of the diff snapshot \S+to-gone is missing/,
    );
    const other = await craft('full-other', 'full', (i) => ({ ...i, vmId: 'vm_other' }));
    const toOther = await craft('to-other', 'd1', (i) => ({
      ...i,
      firecracker: { ...i.firecracker, base: { ...i.firecracker.base!, dir: other } },
    }));
    expect(await refusal(toOther, 'r2')).toMatch(
      /base snapshot \S+full-other .* is of VM vm_other, not of vm_src/,
    );
    const replaced = await craft('full-replaced', 'full', (i) => ({
      ...i,
      createdAt: '2020-01-01T00:00:00.000Z',
    }));
    const toReplaced = await craft('to-replaced', 'd1', (i) => ({
      ...i,
      firecracker: { ...i.firecracker, base: { ...i.firecracker.base!, dir: replaced } },
    }));
    expect(await refusal(toReplaced, 'r3')).toMatch(
      /was taken at 2020-01-01T00:00:00.000Z, .* the base was replaced/,
    );
    const old = await craft('full-old', 'full', (i) => ({ ...i, vmmVersion: '1.10.1' }));
    const toOld = await craft('to-old', 'd1', (i) => ({
      ...i,
      firecracker: { ...i.firecracker, base: { ...i.firecracker.base!, dir: old } },
    }));
    expect(await refusal(toOld, 'r4')).toMatch(
      /base snapshot \S+full-old cannot be merged .* it was taken by Firecracker 1.10.1 and this host runs Firecracker 1.13.2/,
    );
  });

  it('refuses a chain that does not end at a full snapshot: no base recorded, or a loop', async () => {
    const bare = await craft('bare', 'd1', (i) => ({ ...i, firecracker: { ...i.firecracker, base: null } }));
    expect(await refusal(bare, 'r5')).toMatch(
      /records no base snapshot, so its chain does not end at a full snapshot/,
    );
    const loopDir = snap('loop');
    await craft('loop', 'd1', (i) => ({
      ...i,
      firecracker: { ...i.firecracker, base: { dir: loopDir, vmId: i.vmId, createdAt: i.createdAt } },
    }));
    expect(await refusal(loopDir, 'r6')).toMatch(
      /loops back to \S+loop, so it does not end at a full snapshot/,
    );
  });

  it('forgets the base when a snapshot fails after Firecracker wrote it: the next diff needs a full one', async () => {
    const disk = join(env.dir, 'src', 'disk.raw');
    await rename(disk, `${disk}.away`);
    await expect(source.snapshot(snap('broken'), { type: 'diff' })).rejects.toThrow(
      /^Creating the snapshot failed/,
    );
    await rename(`${disk}.away`, disk);
    await expect(source.snapshot(snap('after-broken'), { type: 'diff' })).rejects.toThrow(
      /no snapshot a diff could build on .*the last one failed after Firecracker had written its files/,
    );
    await source.snapshot(snap('full2'));
    const d = (await source.snapshot(snap('after-full2'), { type: 'diff' })) as FirecrackerSnapshotInfo;
    expect(d.firecracker.base?.dir).toBe(resolve(snap('full2')));
    // A restarted agent adopting the process keeps the base for the next diff.
    const adopted = (await env
      .driver({ trackDirtyPages: true })
      .adopt(join(env.dir, 'src'))) as FirecrackerInstance;
    expect(adopted.init.lastSnapshot).toBe(resolve(snap('after-full2')));
    adopted.dispose();
  });

  it('refuses to merge memory files of different sizes, and starts no Firecracker', async () => {
    const short = await craft('short', 'd1', (i) => i);
    await writeFile(join(short, 'memory.snap'), Buffer.alloc(PAGE));
    expect(await refusal(short, 'r7')).toMatch(
      /merging the diff snapshots onto their base failed: the memory file of \S+short is 4096 bytes and its base's 32768/,
    );
  });
});

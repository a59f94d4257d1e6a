import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentNic, AgentVmSpec } from '@hearth/contract';
import { DnsHosts, hostsByBridge, renderHosts } from './dns-hosts.ts';

const net = (bridge: string, dnsForwarder = true): AgentNic['network'] => ({
  id: `net-${bridge}`,
  name: bridge,
  mode: 'nat',
  bridge,
  cidr: '10.5.0.0/24',
  gateway: '10.5.0.1',
  dnsForwarder,
  interface: null,
  vlan: null,
  vxlan: null,
});

function spec(id: string, nics: Partial<AgentNic>[]): AgentVmSpec {
  return {
    id,
    nics: nics.map((n, i) => ({
      mac: `02:48:0a:05:00:0${i}`,
      ip: null,
      prefix: 24,
      gateway: null,
      dns: [],
      network: net('hbr1'),
      ...n,
    })),
  } as unknown as AgentVmSpec;
}

const web = spec('vm1', [
  { ip: '10.5.0.10', dnsNames: ['web.app.hearth', 'web'], dnsAliases: ['www.app.hearth', 'www'] },
]);
const db = spec('vm2', [{ ip: '10.5.0.9', dnsNames: ['db.app.hearth', 'db'], dnsAliases: [] }]);

describe('renderHosts', () => {
  it('writes one line per address, sorted by address, own names before aliases', () => {
    expect(
      renderHosts([
        { ip: '10.5.0.10', names: ['web.app.hearth', 'web'], aliases: ['www'] },
        { ip: '10.5.0.9', names: ['db.app.hearth', 'db'], aliases: [] },
      ]),
    ).toBe('10.5.0.9 db.app.hearth db\n10.5.0.10 web.app.hearth web www\n');
  });

  it("lets a VM's own name win over another VM's alias, and gives a shared alias every address", () => {
    const text = renderHosts([
      { ip: '10.5.0.2', names: ['db'], aliases: [] },
      { ip: '10.5.0.3', names: ['cache'], aliases: ['db', 'api'] },
      { ip: '10.5.0.4', names: ['worker'], aliases: ['api'] },
    ]);
    expect(text).toBe('10.5.0.2 db\n10.5.0.3 cache api\n10.5.0.4 worker api\n');
  });

  it('leaves out anything that is not a DNS name, so no line can be injected', () => {
    const text = renderHosts([
      { ip: '10.5.0.2', names: ['ok', 'evil\n10.5.0.66 bank', 'UPPER', 'a b'], aliases: ['-x'] },
      { ip: '10.5.0.3', names: ['bad name'], aliases: [] },
    ]);
    expect(text).toBe('10.5.0.2 ok\n');
  });
});

describe('hostsByBridge', () => {
  it('lists running VMs only, per bridge with a forwarder, and an empty file where none runs', () => {
    const other = spec('vm3', [
      { ip: '10.6.0.5', network: net('hbr2'), dnsNames: ['x'] },
      { ip: '10.7.0.5', network: net('hbr3', false), dnsNames: ['y'] },
    ]);
    const dhcp = spec('vm4', [{ ip: null, dnsNames: ['z'] }]);
    const files = hostsByBridge([
      { spec: web, running: true },
      { spec: db, running: false },
      { spec: other, running: false },
      { spec: dhcp, running: true },
    ]);
    expect(Object.fromEntries(files)).toEqual({
      hbr1: '10.5.0.10 web.app.hearth web www.app.hearth www\n',
      hbr2: '',
    });
  });

  it('reads specs written before names existed (no dnsNames) as having none', () => {
    expect(hostsByBridge([{ spec: spec('old', [{ ip: '10.5.0.7' }]), running: true }]).get('hbr1')).toBe('');
  });
});

describe('DnsHosts', () => {
  let dir: string;
  const reloads: string[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dns-hosts-'));
    reloads.length = 0;
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const hosts = () =>
    new DnsHosts({
      log: pino({ level: 'silent' }),
      fileFor: (b) => join(dir, `${b}.hosts`),
      reload: (b) => {
        reloads.push(b);
        return Promise.resolve();
      },
    });

  it('follows VMs starting and stopping, reloading the forwarder only when the file changes', async () => {
    const h = hosts();
    const vms = [
      { spec: web, running: true },
      { spec: db, running: false },
    ];
    await h.sync(() => vms);
    expect(await readFile(join(dir, 'hbr1.hosts'), 'utf8')).toBe(
      '10.5.0.10 web.app.hearth web www.app.hearth www\n',
    );
    expect(reloads).toEqual(['hbr1']);

    await h.sync(() => vms);
    expect(reloads).toEqual(['hbr1']);

    vms[1]!.running = true;
    await h.sync(() => vms);
    expect(await readFile(join(dir, 'hbr1.hosts'), 'utf8')).toBe(
      '10.5.0.9 db.app.hearth db\n10.5.0.10 web.app.hearth web www.app.hearth www\n',
    );
    vms[0]!.running = false;
    await h.sync(() => vms);
    expect(await readFile(join(dir, 'hbr1.hosts'), 'utf8')).toBe('10.5.0.9 db.app.hearth db\n');
    expect(reloads).toEqual(['hbr1', 'hbr1', 'hbr1']);
  });

  it('empties the file of a bridge whose last VM was deleted', async () => {
    const h = hosts();
    await h.sync(() => [{ spec: db, running: true }]);
    await h.sync(() => []);
    expect(await readFile(join(dir, 'hbr1.hosts'), 'utf8')).toBe('');
    expect(reloads).toEqual(['hbr1', 'hbr1']);
  });

  it('runs syncs one at a time, each from the VMs as they are when it runs', async () => {
    const h = hosts();
    let running = true;
    const a = h.sync(() => [{ spec: db, running }]);
    running = false;
    const b = h.sync(() => [{ spec: db, running }]);
    await Promise.all([a, b]);
    expect(await readFile(join(dir, 'hbr1.hosts'), 'utf8')).toBe('');
  });

  it('logs a file it cannot write and carries on', async () => {
    const h = new DnsHosts({
      log: pino({ level: 'silent' }),
      fileFor: (b) => join(dir, 'missing-dir', `${b}.hosts`),
      reload: () => Promise.resolve(),
    });
    await expect(h.sync(() => [{ spec: db, running: true }])).resolves.toBeUndefined();
  });
});

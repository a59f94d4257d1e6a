import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vm } from '@hearth/contract';
import { ensureDistro } from '@hearth/images';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { cli } from '../helpers/proc.ts';
import { until } from '../helpers/vm.ts';

// The Debian images on real VMs: debian-12 boots systemd with the guest agent as a unit, has apt
// sources, and runs the VM's cloud-init user data; debian-13 boots to ready. One VM at a time.

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFhearthDebianImagesTestKeyOnly0000000000000 test@hearth';
const USER_DATA = `#cloud-config
write_files:
  - path: /etc/hearth-test/written.txt
    content: |
      written by cloud-init
users:
  - name: carol
    shell: /bin/bash
    groups: [sudo]
runcmd:
  - [sh, -c, 'echo "runcmd as $(id -un)" > /var/tmp/runcmd.out']
`;

describe('Debian images (real VMs)', () => {
  let p: Platform;
  let vm: Vm;
  const sh = async (command: string) =>
    p.client.call('execVm', { params: { id: vm.id }, body: { command, timeoutMs: 120_000 } });

  beforeAll(async () => {
    // Built from Debian's packages on first use (minutes on a cold cache), then cached by recipe
    // hash: built here, outside the create request, so the create does not wait on it.
    await ensureDistro('debian-12');
    p = await startPlatform();
    const created = await p.client.call('createVm', {
      body: {
        name: 'deb12-e2e',
        image: 'debian-12',
        memoryMib: 512,
        diskSize: '2gb',
        user: 'alice',
        sshKeys: [KEY],
        userData: USER_DATA,
      },
    });
    vm = await p.client.call('waitVm', {
      params: { id: created.id },
      query: { state: 'running', timeout: 300 },
    });
    expect(vm.state).toBe('running');
  }, 3_000_000);
  afterAll(async () => {
    await p?.dispose();
  });

  it('boots systemd as PID 1 with the guest agent as a service, and the system comes up running', async () => {
    expect((await sh('cat /proc/1/comm')).stdout).toBe('systemd\n');
    expect((await sh('systemctl is-active hearth-guest.service')).stdout).toBe('active\n');
    // The agent is a service, not PID 1: its parent is systemd.
    expect((await sh('ps -o ppid= -C hearth-guest | tr -d " "')).stdout.trim().split('\n')).toContain('1');
    let state = '';
    await until(
      'systemd finished booting',
      async () => {
        state = (await sh('systemctl is-system-running')).stdout.trim();
        return !['initializing', 'starting'].includes(state);
      },
      600_000,
    );
    // Where the boot's time went, for the record (docs/images.md).
    console.log((await sh('systemd-analyze; systemd-analyze blame | head -n 12')).stdout);
    const failed = (await sh('systemctl --failed --no-legend --plain')).stdout;
    expect({ state, failed }).toEqual({ state: 'running', failed: '' });
    expect((await sh('. /etc/os-release; echo "$ID $VERSION_ID"')).stdout).toBe('debian 12\n');
  }, 700_000);

  it('has apt, its sources, bash and sshd', async () => {
    const sources = await sh('cat /etc/apt/sources.list.d/debian.sources');
    expect(sources.stdout).toMatch(/^Suites: bookworm bookworm-updates$/m);
    expect(sources.stdout).toMatch(/^URIs: http:\/\/deb\.debian\.org\/debian$/m);
    expect((await sh('apt-get --version | head -n 1')).stdout).toMatch(/^apt \d/);
    expect((await sh('bash -c "echo \\$BASH_VERSION"')).stdout).toMatch(/^5\./);
    expect((await sh('systemctl is-active ssh.service')).stdout).toBe('active\n');
    // Host keys are the VM's own, made at its first boot.
    expect((await sh('ls /etc/ssh/ssh_host_ed25519_key.pub')).exitCode).toBe(0);
  });

  it("runs the VM's cloud-init user data; the hostname and the API's user stay the agent's", async () => {
    const status = await sh('cloud-init status --wait >/dev/null; cloud-init status --long');
    expect(status.stdout).toMatch(/status: done/);
    expect(status.stdout).toMatch(/NoCloud/);
    expect((await sh('cat /etc/hearth-test/written.txt')).stdout).toBe('written by cloud-init\n');
    expect((await sh('id -nG carol')).stdout).toMatch(/\bsudo\b/);
    expect((await sh('cat /var/tmp/runcmd.out')).stdout).toBe('runcmd as root\n');
    expect((await sh('hostname; cat /etc/hostname')).stdout).toBe('deb12-e2e\ndeb12-e2e\n');
    expect((await sh('cat /home/alice/.ssh/authorized_keys')).stdout).toContain(KEY);
    // cloud-init left root's keys alone (no "disable_root" prefix) and made no default user.
    expect((await sh('getent passwd debian || echo none')).stdout).toBe('none\n');
  }, 300_000);

  it('debian-13 boots to ready too, created with the CLI', async () => {
    await p.client.call('deleteVm', { params: { id: vm.id } });
    await ensureDistro('debian-13');
    const env = { HEARTH_URL: p.manager.url, HEARTH_TOKEN: p.manager.adminToken };
    const r = await cli(
      ['--json', 'create', '--name', 'deb13-e2e', '--image', 'debian-13', '--memory', '512'],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    const id = (JSON.parse(r.stdout) as Vm).id;
    const ready = await p.client.call('waitVm', {
      params: { id },
      query: { state: 'running', timeout: 300 },
    });
    expect(ready.state).toBe('running');
    vm = ready;
    expect((await sh('. /etc/os-release; echo "$ID $VERSION_ID"; cat /proc/1/comm')).stdout).toBe(
      'debian 13\nsystemd\n',
    );
    expect((await sh('cat /etc/apt/sources.list.d/debian.sources')).stdout).toMatch(
      /^Suites: trixie trixie-updates$/m,
    );
  }, 3_000_000);
});

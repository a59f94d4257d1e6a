import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerLogLine, Vm } from '@hearth/contract';
import { startPlatform, type Platform } from '../helpers/platform.ts';
import { pushTestImage, startRegistry, type LocalRegistry } from '../helpers/oci.ts';
import { until } from '../helpers/vm.ts';

// One VM from an OCI image whose app fails twice (exit 3, printing to stdout and stderr), then
// runs until the test lets it finish: the guest agent restarts it with back-off, the host agent
// keeps its output across an agent restart, and the manager records its status and events.
const APP = `#!/bin/sh
n=$(cat /srv/runs 2>/dev/null || echo 0)
n=$((n + 1))
echo $n > /srv/runs
echo "app-out run=$n"
echo "app-err run=$n" >&2
if [ "$n" -lt 3 ]; then exit 3; fi
while [ ! -f /srv/finish ]; do sleep 1; done
echo "app-out finishing"
exit 0
`;

let p: Platform;
let reg: LocalRegistry;
let vm: Vm;

beforeAll(async () => {
  reg = await startRegistry();
  const ref = await pushTestImage(reg.host, 'hearth-test/app-logs', 'v1', { script: APP });
  p = await startPlatform({ manager: { importAllow: ['127.0.0.0/8'] } });
  const image = await p.client.call('importImage', { body: { ref } });
  const created = await p.client.call('createVm', {
    body: { name: 'app-logs', image: image.id, memoryMib: 128 },
  });
  vm = await p.client.call('waitVm', {
    params: { id: created.id },
    query: { state: 'running', timeout: 180 },
  });
}, 900_000);

afterAll(async () => {
  await p?.dispose();
  await reg?.dispose();
});

async function logs(query: Record<string, string>): Promise<string> {
  const res = await p.client.raw('vmAppLogs', { params: { id: vm.id }, query: query as never });
  return res.text();
}

const appOf = async () => (await p.client.call('getVm', { params: { id: vm.id } })).app;

describe("a VM's app: supervised by the guest agent, its output kept by the host", () => {
  it('restarts the failing app with back-off and keeps stdout and stderr apart, timestamped', async () => {
    // The restart count rises when the back-off starts; `running` comes with the third run.
    await until(
      'the third run is up',
      async () => {
        const app = await appOf();
        return app?.restarts === 2 && app.state === 'running';
      },
      300_000,
    );
    await until('its output is stored', async () => (await logs({})).includes('app-err run=3'), 60_000);
    const app = (await appOf())!;
    expect(app).toMatchObject({ state: 'running', restarts: 2, exitCode: null });

    const all = (await logs({ format: 'ndjson' }))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as ContainerLogLine);
    const out = all.filter((l) => l.stream === 'stdout').map((l) => l.line);
    const err = all.filter((l) => l.stream === 'stderr').map((l) => l.line);
    expect(out).toEqual(['app-out run=1', 'app-out run=2', 'app-out run=3']);
    expect(err).toEqual(['app-err run=1', 'app-err run=2', 'app-err run=3']);
    for (const l of all) expect(Date.parse(l.t)).not.toBeNaN();

    expect(await logs({ stdout: 'false' })).toBe('app-err run=1\napp-err run=2\napp-err run=3\n');
    // stdout and stderr are separate pipes, so which of a run's two lines is last is not fixed.
    const stamped = (await logs({ timestamps: 'true', tail: '1', stdout: 'false' })).trim();
    expect(stamped).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z app-err run=3$/);
  }, 600_000);

  it('keeps the logs intact across an agent restart and records the exit with code, reason and events', async () => {
    await p.agent!.dispose();
    await p.startAgent();
    // The app keeps running across the agent restart; the line it prints after it is collected.
    await p.client.call('execVm', { params: { id: vm.id }, body: { command: 'touch /srv/finish' } });
    await until('the app exited', async () => (await appOf())?.state === 'exited', 300_000);
    const app = (await appOf())!;
    expect(app.exitCode).toBe(0);
    expect(app.restarts).toBe(2);
    expect(app.reason).toContain('exit code 0');
    expect(app.reason).toContain('app-out finishing');

    await until('the last line is stored', async () => (await logs({})).includes('finishing'), 60_000);
    expect(await logs({ stderr: 'false' })).toBe(
      'app-out run=1\napp-out run=2\napp-out run=3\napp-out finishing\n',
    );

    const events = await p.client.call('vmEvents', { params: { id: vm.id }, query: { limit: 100 } });
    const messages = events.items.filter((e) => e.type === 'app').map((e) => e.reason);
    expect(messages).toEqual(
      expect.arrayContaining([
        'restarted, exit code 3, attempt 1',
        'restarted, exit code 3, attempt 2',
        'exited with code 0',
      ]),
    );
  }, 600_000);
});

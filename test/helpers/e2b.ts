import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';

/** A GET to `managerUrl` with a Host of our choosing (no DNS: as a wildcard name would bring it). */
export function getWithHost(
  managerUrl: string,
  host: string,
  path = '/',
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const u = new URL(managerUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, path, headers: { ...headers, host } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The pid in the VM's QEMU pid file under the platform's agent directory; 0 when there is none. */
export async function qemuPid(platformDir: string, vmId: string): Promise<number> {
  const f = join(platformDir, 'agent', 'vms', vmId, 'qemu.pid');
  return Number((await readFile(f, 'utf8').catch(() => '0')).trim());
}

/** Whether `pid` is a live QEMU of that VM (its command line names the VM). */
export async function isVmmOf(pid: number, vmId: string): Promise<boolean> {
  if (!pid) return false;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline.includes(vmId) && cmdline.includes('qemu');
}

/**
 * Stand-in for the `firecracker` binary, for tests only: the contract checker behind the same
 * command line, so that the driver's spawn path (argv, socket creation, exit codes, stdio as
 * the serial console) is exercised. Not a VMM: no guest runs. Behaviour knobs (environment):
 *   FC_CHECKER_VERSION     version to claim (default: the spec's)
 *   FC_CHECKER_FAIL        comma-separated calls to fail, e.g. `PUT /drives/rootfs`
 *   FC_CHECKER_HANG        `after-start`: stop answering once the guest "runs"
 *   FC_CHECKER_CTRLALTDEL  `poweroff` (default: print the kernel's power-down line, keep running,
 *                          as real Firecracker does), `reset` (print restart line, exit 0), `ignore`
 *   FC_CHECKER_LOG         file that receives one JSON line per API call
 */
import { appendFileSync, closeSync, constants, existsSync, openSync, writeSync } from 'node:fs';
import { FirecrackerApiChecker } from './api-checker.ts';
import { loadSpec } from './spec.ts';

const env = process.env;
const argv = process.argv.slice(2);
const version = env.FC_CHECKER_VERSION ?? loadSpec().info.version;
let apiSock = '/run/firecracker.socket';
let id = 'anonymous-instance';
const VALUED = new Set([
  '--api-sock',
  '--id',
  '--start-time-us',
  '--start-time-cpu-us',
  '--parent-cpu-time-us',
  '--log-path',
  '--level',
  '--metrics-path',
  '--config-file',
  '--seccomp-filter',
  '--http-api-max-payload-size',
  '--mmds-size-limit',
]);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]!;
  if (a === '--version') {
    process.stdout.write(`Firecracker v${version}\n\n`);
    process.exit(0);
  } else if (a === '--api-sock') apiSock = argv[++i]!;
  else if (a === '--id') id = argv[++i]!;
  else if (VALUED.has(a)) i++;
  else if (a !== '--boot-timer' && a !== '--no-seccomp') {
    process.stderr.write(`Arguments parsing error: Found argument '${a}' which wasn't expected.\n`);
    process.exit(153);
  }
}
if (!/^[A-Za-z0-9-]{1,64}$/.test(id)) {
  process.stderr.write(`Invalid instance ID: ${id}\n`);
  process.exit(1);
}
if (existsSync(apiSock)) {
  // Firecracker never unlinks an existing socket: it fails to bind and exits.
  process.stderr.write(`Failed to open the API socket at: ${apiSock}. Check that it is not already used.\n`);
  process.exit(1);
}

const say = (text: string) => process.stdout.write(text);
let checker: FirecrackerApiChecker | null = null;
checker = await FirecrackerApiChecker.start({
  socketPath: apiSock,
  cwd: process.cwd(),
  id,
  version,
  failOn: (env.FC_CHECKER_FAIL ?? '').split(',').filter(Boolean),
  hangAfterStart: env.FC_CHECKER_HANG === 'after-start',
  onCall: (c) => env.FC_CHECKER_LOG && appendFileSync(env.FC_CHECKER_LOG, JSON.stringify(c) + '\n'),
  onFatal: () => process.exit(1),
  onAction: (type) => {
    if (type === 'InstanceStart')
      say('[contract checker] InstanceStart: no guest runs here\nhearth-guest: booted\n');
    if (type === 'SnapshotLoaded') say('[contract checker] snapshot loaded\n');
    if (type === 'FlushMetrics') flushMetrics();
    if (type === 'SendCtrlAltDel') {
      const mode = env.FC_CHECKER_CTRLALTDEL ?? 'poweroff';
      if (mode === 'poweroff') say('The system is going down NOW!\nreboot: Power down\n');
      if (mode === 'reset') {
        say('reboot: Restarting system\n');
        setTimeout(() => process.exit(0), 20);
      }
    }
  },
});

function flushMetrics(): void {
  const path = (checker?.model.metrics?.metrics_path as string | undefined) ?? null;
  if (!path) return;
  const fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  try {
    writeSync(
      fd,
      JSON.stringify({
        utc_timestamp_ms: Date.now(),
        api_server: { process_startup_time_us: 1 },
        vcpu: { exit_io_out: 0 },
      }) + '\n',
    );
  } finally {
    closeSync(fd);
  }
}

// The serial console's input: echo it as a guest's getty would.
process.stdin.on('data', (d) => process.stdout.write(d));
process.stdin.on('error', () => undefined);

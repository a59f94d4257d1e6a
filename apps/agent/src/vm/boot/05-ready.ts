import type { VmmInstance } from '@hearth/vmm';
import { waitForText } from '../../console-log.ts';
import type { GuestConnection } from '../../guest/connection.ts';
import { GUEST_AGENT_UP_MARKER } from '../../guest/inject.ts';
import { adoptIdentity } from '../restore-support.ts';
import { raceReady } from '../ready.ts';
import { timed, type BootRun } from './run.ts';

/**
 * Step 5: the guest is up. With a guest agent: its session is open (a restored guest then takes
 * this VM's clock and identity); without one: the image's boot marker is on the console; with
 * neither: the VMM running is all there is to wait for. Records `kernel` (launch to the guest
 * agent's first console line, or the boot marker) and `agent` (from there to the session), or
 * for a restore `resume` and `identity`.
 */
export async function awaitReady(b: BootRun): Promise<void> {
  const { rec, ctx, from } = b;
  const instance = b.instance!;
  const spec = rec.spec;
  let since = performance.now();
  if (rec.hasAgent) {
    rec.guest = ctx.openGuest(rec, instance);
    // The split between `kernel` and `agent`: the agent's first line on the console.
    const up = new AbortController();
    let upAt: number | null = null;
    if (!from) {
      void waitForText(b.files.consoleLog, GUEST_AGENT_UP_MARKER, b.consoleStart, up.signal)
        .then(() => (upAt = performance.now()))
        .catch(() => undefined);
    }
    try {
      await awaitAgent(b, rec.guest, instance);
    } finally {
      up.abort();
    }
    if (from) {
      since = timed(b, 'resume', since);
    } else {
      timed(b, 'kernel', since, upAt ?? performance.now());
      since = timed(b, 'agent', upAt ?? performance.now());
    }
    // The restored guest wakes with the clock and identity of the instant it was saved.
    if (from) {
      await adoptIdentity(rec.guest, spec, from.source);
      timed(b, 'identity', since);
    }
    if (spec.background) await warmUp(b, rec.guest);
  } else if (spec.bootMarker && !from) {
    const marker = spec.bootMarker;
    await raceReady({
      ...raceBase(b, instance),
      timeoutMessage: `Booting timed out after ${bootDeadlineMs(b) / 1000} s without the boot marker`,
      ready: (signal) => waitForText(b.files.consoleLog, marker, b.consoleStart, signal),
    });
    timed(b, 'kernel', since);
  } else {
    timed(b, from ? 'resume' : 'kernel', since);
  }
}

/**
 * A VM that waits in a warm pool runs one `true` before it is counted ready: a guest's first
 * process start (the fork of the guest agent, the exec path's code translated under emulation)
 * took about 200 ms more than later ones, and it is paid here, at refill time, instead of by the
 * user's first command after the hand-out. A failure only leaves the VM cold.
 */
async function warmUp(b: BootRun, guest: GuestConnection): Promise<void> {
  await guest
    .request({ op: 'exec', argv: ['true'], tag: 'hearth-warm-up' }, 30_000)
    .catch((e: Error) => b.log.warn({ err: e.message }, 'warming a pool VM up failed'));
}

function awaitAgent(b: BootRun, guest: GuestConnection, instance: VmmInstance): Promise<void> {
  return raceReady({
    ...raceBase(b, instance),
    timeoutMessage: `Booting timed out after ${bootDeadlineMs(b) / 1000} s: the guest agent never answered`,
    ready: async (signal, fail) => {
      const refused = (why: string) => fail(`Booting failed: the guest agent refused the session (${why})`);
      guest.once('refused', refused);
      try {
        await guest.ready(signal);
      } finally {
        guest.off('refused', refused);
      }
    },
  });
}

/**
 * How long a boot may take before it is failed. A kernel with an initramfs (a distribution's
 * kernel, carried by its disk image) unpacks it and loads and probes modules before the root is
 * even mounted, and its system's udev loads more before the guest agent's port appears: three
 * times the host's deadline (under emulation on a busy host that path takes minutes).
 */
export function bootDeadlineMs(b: Pick<BootRun, 'ctx' | 'initrdPath'>): number {
  return b.initrdPath ? b.ctx.o.bootTimeoutMs * 3 : b.ctx.o.bootTimeoutMs;
}

function raceBase(b: BootRun, instance: VmmInstance) {
  const stderrPath = b.rec.spec.vmm === 'qemu' ? b.files.qemuStderr : b.files.firecrackerStderr;
  return { instance, timeoutMs: bootDeadlineMs(b), stderrPath };
}

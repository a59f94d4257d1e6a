import { applyPorts, checkPortsFree } from '../../net.ts';
import { ensureNetwork } from '../../networks.ts';
import { applyPolicy, attachTaps, createTaps, nicsOf, portTarget } from '../../vm-net.ts';
import type { BootRun } from './run.ts';

/**
 * Step 3: the networks the VM's NICs join and its TAPs, made down and outside their bridges.
 * Then, without being waited for here, `wireNetwork` (published ports, egress policy and
 * anti-spoofing rules, then the TAPs into their bridges): that is two or three process starts,
 * about 150 ms on a small host, and it runs while the VMM starts and the guest boots. Its
 * outcome is in `b.wiring`; `networkWired` waits for it.
 */
export async function plugNetwork(b: BootRun): Promise<void> {
  const { ctx } = b;
  const spec = b.rec.spec;
  const nics = nicsOf(spec);
  if (!nics.length) return;
  for (const net of new Map(nics.map((n) => [n.network.id, n.network])).values()) {
    if (ctx.o.net) await ensureNetwork(net, ctx.o.net);
  }
  // A port the host itself listens on fails the boot before anything starts.
  if (portTarget(spec)) await checkPortsFree(spec.ports ?? []);
  b.taps = await createTaps(spec, ctx.agentName, await ctx.tapOwner(spec));
  const t0 = Date.now();
  b.wiring = wireNetwork(b).then(
    () => {
      b.log.debug({ ms: Date.now() - t0, nics: nics.length }, 'VM network wired');
      return null;
    },
    (e: unknown) => e as Error,
  );
}

async function wireNetwork(b: BootRun): Promise<void> {
  const { ctx } = b;
  const spec = b.rec.spec;
  const to = portTarget(spec);
  if (to) await applyPorts(spec.id, to, spec.ports ?? []);
  await applyPolicy(spec, ctx.agentName, { fresh: true });
  await attachTaps(spec);
}

/** Waits for `wireNetwork`; throws its error. */
export async function networkWired(b: BootRun): Promise<void> {
  const failed = await b.wiring;
  if (failed) throw failed;
}

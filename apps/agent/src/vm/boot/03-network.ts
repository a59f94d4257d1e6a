import { applyPorts } from '../../net.ts';
import { ensureNetwork } from '../../networks.ts';
import { applyPolicy, createTaps, nicsOf, portTarget } from '../../vm-net.ts';
import type { BootRun } from './run.ts';

/** Step 3: the networks the VM's NICs join, its TAPs, published ports and egress policy. */
export async function plugNetwork(b: BootRun): Promise<void> {
  const { ctx } = b;
  const spec = b.rec.spec;
  const nics = nicsOf(spec);
  if (!nics.length) return;
  const t0 = Date.now();
  for (const net of new Map(nics.map((n) => [n.network.id, n.network])).values()) {
    if (ctx.o.net) await ensureNetwork(net, ctx.o.net);
  }
  b.taps = await createTaps(spec, ctx.agentName, await ctx.tapOwner(spec));
  const to = portTarget(spec);
  if (to) await applyPorts(spec.id, to, spec.ports ?? []);
  await applyPolicy(spec, ctx.agentName, { fresh: true });
  b.log.debug({ ms: Date.now() - t0, nics: nics.length }, 'VM network ready');
}

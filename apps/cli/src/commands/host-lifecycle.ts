import type { Command } from 'commander';
import { printJson } from '../output.ts';
import { act } from './vm.ts';

/** `hearth host cordon|uncordon|declare-dead HOST` (administrators). */
export function hostLifecycleCommands(program: Command, host: Command): void {
  for (const [verb, route, what] of [
    ['cordon', 'cordonHost', 'Place no new VMs on a host (its VMs keep running)'],
    ['uncordon', 'uncordonHost', 'Let placement use a host again'],
  ] as const) {
    host
      .command(`${verb} <host>`)
      .description(what)
      .action(
        act(program, async (c, json, id: string) => {
          const h = await c.call(route, { params: { id } });
          if (json) return printJson(h);
          console.log(`host ${h.name} ${h.cordoned ? 'cordoned' : 'uncordoned'} (${h.state})`);
        }),
      );
  }
  host
    .command('declare-dead <host>')
    .description(
      'State that a host is down for good (you have fenced it: powered off, agent and VMs gone). VMs with restart policy always start on another host, the rest become lost; if its agent comes back it destroys them',
    )
    .action(
      act(program, async (c, json, id: string) => {
        const r = await c.call('declareHostDead', { params: { id } });
        if (json) return printJson(r);
        console.log(`host ${r.name} (${r.id}) declared dead and cordoned`);
        for (const v of r.restarted) console.log(`restarted ${v.vm} on ${v.host} from its ${v.from}`);
        for (const v of r.lost) console.log(`lost ${v.vm}: ${v.reason}`);
      }),
    );
}

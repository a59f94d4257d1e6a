import type { Command } from 'commander';
import { WEBHOOK_EVENTS, type WebhookEventType } from '@hearth/contract';
import { UsageError } from '../usage-error.ts';
import { table } from '../format.ts';
import { printJson } from '../output.ts';
import { act } from './vm.ts';

const events = (v: string): WebhookEventType[] => {
  const list = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = list.filter((e) => !(WEBHOOK_EVENTS as readonly string[]).includes(e));
  if (bad.length)
    throw new UsageError(`Unknown event type ${bad.join(', ')}: one of ${WEBHOOK_EVENTS.join(', ')}.`);
  return list as WebhookEventType[];
};

/** `hearth webhook create|ls|rm|test|deliveries`: a project's event subscriptions (docs/webhooks.md). */
export function webhookCommands(program: Command): void {
  const webhook = program.command('webhook').description("Send the project's events to a URL (signed POSTs)");
  const inProject = (c: { project: string | null }) => (c.project ? { project: c.project } : {});
  webhook
    .command('create <url>')
    .description('Subscribe a URL; prints the signing secret once')
    .requiredOption('--events <types>', `comma-separated: ${WEBHOOK_EVENTS.join(', ')}`)
    .option('--secret <secret>', 'use this signing secret (16+ characters) instead of a generated one')
    .action(
      act(program, async (c, json, url: string, o: { events: string; secret?: string }) => {
        const w = await c.call('createWebhook', {
          body: { url, events: events(o.events), ...(o.secret ? { secret: o.secret } : {}), ...inProject(c) },
        });
        if (json) return printJson(w);
        console.log(`webhook ${w.id} created for ${w.events.join(', ')}`);
        console.log(`signing secret (shown once): ${w.secret}`);
      }),
    );
  webhook
    .command('list')
    .alias('ls')
    .description("List the project's webhooks")
    .action(
      act(program, async (c, json) => {
        const { items } = await c.call('listWebhooks', { query: { limit: 500, ...inProject(c) } });
        if (json) return printJson(items);
        console.log(
          table(
            ['ID', 'URL', 'EVENTS', 'CREATED'],
            items.map((w) => [w.id, w.url, w.events.join(','), w.createdAt]),
          ),
        );
      }),
    );
  webhook
    .command('remove <id...>')
    .alias('rm')
    .description('Delete webhooks (and their delivery logs)')
    .action(
      act(program, async (c, json, ids: string[]) => {
        for (const id of ids) {
          const w = await c.call('deleteWebhook', { params: { id }, query: inProject(c) });
          if (json) printJson(w);
          else console.log(`webhook ${w.id} deleted`);
        }
      }),
    );
  webhook
    .command('test <id>')
    .description('Send a webhook.test event now')
    .action(
      act(program, async (c, json, id: string) => {
        const d = await c.call('testWebhook', { params: { id }, query: inProject(c) });
        if (json) return printJson(d);
        console.log(`delivery ${d.id} queued; \`hearth webhook deliveries ${id}\` shows how it went`);
      }),
    );
  webhook
    .command('deliveries <id>')
    .description("A webhook's recent deliveries, newest first")
    .action(
      act(program, async (c, json, id: string) => {
        const { items } = await c.call('webhookDeliveries', { params: { id }, query: inProject(c) });
        if (json) return printJson(items);
        console.log(
          table(
            ['ID', 'EVENT', 'STATUS', 'ATTEMPTS', 'CODE', 'LAST ERROR', 'CREATED'],
            items.map((d) => [
              d.id,
              d.event,
              d.status,
              String(d.attempts),
              d.responseCode === null ? '-' : String(d.responseCode),
              d.lastError ?? '-',
              d.createdAt,
            ]),
          ),
        );
      }),
    );
}

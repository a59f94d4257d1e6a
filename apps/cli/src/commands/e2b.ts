import type { Command } from 'commander';
import { defaultDataDir, readUserConfig, resolveUrl } from '../config.ts';
import { printJson } from '../output.ts';
import { act } from './vm.ts';

interface Global {
  dataDir?: string;
}

/** The E2B variables for a manager: the API and sandbox URLs are both its `/e2b` prefix. */
export function e2bEnv(baseUrl: string, key: string): Record<string, string> {
  const url = `${baseUrl.replace(/\/+$/, '')}/e2b`;
  return { E2B_API_URL: url, E2B_SANDBOX_URL: url, E2B_API_KEY: key };
}

/** `hearth e2b env`: what the unmodified E2B SDK needs to reach this Hearth (docs/e2b.md). */
export function e2bCommands(program: Command): void {
  const e2b = program.command('e2b').description('The E2B-compatible API (docs/e2b.md)');
  e2b
    .command('env')
    .description(
      'Print E2B_API_URL, E2B_SANDBOX_URL and E2B_API_KEY for the E2B SDK (creates an e2b_… API key for you unless --key is given); eval "$(hearth e2b env)"',
    )
    .option('--key <key>', 'use this API key instead of creating one')
    .option('--name <name>', 'name of the key created', 'e2b')
    .action(
      act(program, async (c, json, o: { key?: string; name: string }) => {
        const g = program.opts<Global>();
        const baseUrl = resolveUrl(g.dataDir ?? defaultDataDir(), readUserConfig());
        let key = o.key;
        if (!key) {
          const project = program.opts<{ project?: string }>().project;
          const t = await c.withProject(null).call('createToken', {
            body: { name: o.name, format: 'e2b', ...(project ? { project } : {}) },
          });
          key = t.token;
          process.stderr.write(
            `Created API key ${t.name} (${t.id}) for the E2B SDK; revoke it with \`hearth token rm ${t.id}\`.\n`,
          );
        }
        const env = e2bEnv(baseUrl, key);
        if (json) return printJson(env);
        for (const [k, v] of Object.entries(env)) console.log(`export ${k}=${v}`);
      }),
    );
}

import { hostname } from 'node:os';
import type { Command } from 'commander';
import { HearthError, type Me } from '@hearth/contract';
import { ConnectionError, HearthClient } from '@hearth/sdk';
import {
  defaultDataDir,
  readUserConfig,
  removeUserConfig,
  resolveUrl,
  userConfigPath,
  writeUserConfig,
} from '../config.ts';
import { UsageError } from '../usage-error.ts';
import { printJson, reportError } from '../output.ts';
import { ask, askHidden, readStdin } from '../prompt.ts';
import { act } from './vm.ts';

interface Global {
  json?: boolean;
  dataDir?: string;
  project?: string;
}

/** An action that makes its own client (sign-in has no token yet), errors reported as `act` does. */
function plain<A extends unknown[]>(program: Command, fn: (g: Global, ...args: A) => Promise<void>) {
  return async (...args: A) => {
    const g = program.opts<Global>();
    try {
      await fn(g, ...args);
    } catch (e) {
      process.exitCode = reportError(e, Boolean(g.json));
    }
  };
}

async function credentials(o: { user?: string; passwordStdin?: boolean }) {
  const tty = Boolean(process.stdin.isTTY);
  if (o.passwordStdin && !o.user) throw new UsageError('--password-stdin needs --user NAME.');
  const username = o.user ?? (tty ? await ask('User: ') : '');
  if (!username) throw new UsageError('No user name: pass --user NAME (standard input is not a terminal).');
  let password: string;
  if (o.passwordStdin) password = await readStdin();
  else if (tty) password = await askHidden('Password: ');
  else throw new UsageError('No password: pass --password-stdin and write it to standard input.');
  if (!password) throw new UsageError('The password is empty.');
  return { username, password };
}

function describeMe(me: Me, url: string, project: string | null): string[] {
  const who = me.user
    ? `${me.user.name}${me.user.displayName ? ` (${me.user.displayName})` : ''}`
    : 'bootstrap admin token';
  const limits = [me.ceiling && `ceiling ${me.ceiling}`, me.scope && `project ${me.scope} only`].filter(
    Boolean,
  );
  return [
    `user:     ${who}${me.admin ? ', platform administrator' : ''}`,
    `via:      ${me.via}${limits.length ? ` (${limits.join(', ')})` : ''}`,
    `manager:  ${url}`,
    `project:  ${project ?? `${me.defaultProject} (default)`}`,
    `projects: ${me.projects.map((p) => `${p.name} (${p.role})`).join(', ') || '-'}`,
  ];
}

/** `hearth login`, `hearth logout`, `hearth whoami`: the CLI's identity, kept in the user's config. */
export function loginCommands(program: Command): void {
  program
    .command('login [url]')
    .description('Sign in with user name and password; keeps a new API token in the user config')
    .option('--user <name>', 'user name (asked for on a terminal)')
    .option('--password-stdin', 'read the password from standard input (for scripts)')
    .option('--expires <lifetime>', 'lifetime of the stored token, e.g. 90d (default: no expiry)')
    .action(
      plain(
        program,
        async (
          g,
          url: string | undefined,
          o: { user?: string; passwordStdin?: boolean; expires?: string },
        ) => {
          const previous = readUserConfig();
          const baseUrl = (url ?? resolveUrl(g.dataDir ?? defaultDataDir(), previous)).replace(/\/+$/, '');
          const { username, password } = await credentials(o);
          const anonymous = new HearthClient({ baseUrl, token: '' });
          const res = await anonymous.call('login', {
            body: {
              username,
              password,
              issue: 'token',
              tokenName: `hearth CLI on ${hostname()}`,
              ...(o.expires ? { expiresIn: o.expires } : {}),
            },
          });
          if (!res.token)
            throw new HearthError('INTERNAL', 'Signing in failed: the manager issued no token.');
          // A default project survives signing in again to the same manager; `--project` sets one.
          const project = g.project ?? (previous.url === baseUrl ? previous.project : undefined);
          const path = await writeUserConfig({
            url: baseUrl,
            token: res.token,
            ...(project ? { project } : {}),
          });
          if (g.json)
            return printJson({ url: baseUrl, user: res.user, project: project ?? null, config: path });
          console.log(`Signed in to ${baseUrl} as ${res.user.name}; the token is kept in ${path}.`);
        },
      ),
    );

  program
    .command('logout')
    .description('Revoke the token `hearth login` stored and remove the user config')
    .action(
      plain(program, async (g) => {
        const cfg = readUserConfig();
        const path = userConfigPath();
        if (cfg.token && cfg.url) {
          try {
            await new HearthClient({ baseUrl: cfg.url, token: cfg.token }).call('deleteToken', {
              params: { id: 'current' },
            });
          } catch (e) {
            // Already revoked or expired is as good as revoked; anything else is worth a warning.
            const gone = e instanceof HearthError && ['UNAUTHENTICATED', 'TOKEN_EXPIRED'].includes(e.code);
            if (!gone) {
              const why = e instanceof HearthError || e instanceof ConnectionError ? e.message : String(e);
              process.stderr.write(
                `warning: revoking the token failed (${why}); revoke it with \`hearth token rm\`.\n`,
              );
            }
          }
        }
        await removeUserConfig();
        if (g.json) return printJson({ url: cfg.url ?? null, config: path });
        console.log(
          cfg.token ? `Signed out of ${cfg.url}; removed ${path}.` : `Not signed in; removed ${path}.`,
        );
      }),
    );

  program
    .command('whoami')
    .description('Who the CLI acts as: user, roles, project')
    .action(
      act(program, async (c, json) => {
        const me = await c.call('me');
        if (json) return printJson({ ...me, project: c.project });
        const url = resolveUrl(program.opts<Global>().dataDir ?? defaultDataDir());
        console.log(describeMe(me, url, c.project).join('\n'));
      }),
    );
}

import type { Command } from 'commander';
import type { Logger } from 'pino';
import { AGENT_DEFAULTS } from '@hearth/agent/defaults';
import type { HostConfig } from '@hearth/contract/host-config';
import { parseLabel } from '@hearth/contract';
import { join } from 'node:path';
import { UsageError } from '../usage-error.ts';
import { reportError } from '../output.ts';

interface AgentOptions {
  config?: string;
  manager?: string;
  joinToken?: string;
  listen?: string;
  port?: string;
  advertise?: string;
  name?: string;
  bridge?: string;
  cidr?: string;
  underlay?: string;
  dnsUpstream?: string[];
  ksm?: boolean;
  maxBoots?: string;
  tcgCacheMib?: string;
  tlsCert?: string;
  tlsKey?: string;
  insecureHttp?: boolean;
  label?: string[];
}

/** How the agent serves its API: manager-issued certificate by default. */
function agentTls(a: HostConfig['agent']): { tls?: { certFile: string; keyFile: string } | false } {
  if (a.insecureHttp) return { tls: false };
  if (a.tlsCert || a.tlsKey) {
    if (!a.tlsCert || !a.tlsKey) throw new UsageError('--tls-cert and --tls-key go together');
    return { tls: { certFile: a.tlsCert, keyFile: a.tlsKey } };
  }
  return {};
}

/** `k=v` entries (flags, the file, HEARTH_AGENT_LABELS) as the labels the agent registers with. */
function hostLabels(items: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of items) {
    try {
      const [k, v] = parseLabel(kv);
      out[k] = v;
    } catch {
      throw new UsageError(`--label ${kv} must look like key=value.`);
    }
  }
  return out;
}

/** A standalone agent joining a manager elsewhere (multi-host mode, and crash tests). */
export function agentCommand(program: Command): void {
  program
    .command('agent')
    .description('Run a host agent that joins a manager')
    // No defaults here: the configuration file and the environment come between (docs/install.md).
    .option(
      '--manager <url>',
      'manager URL (agent.manager; required); repeat it (or separate by commas) for manager replicas',
      (v: string, prev?: string) => (prev ? `${prev},${v}` : v),
    )
    .option(
      '--config <file>',
      'configuration file (default: $HEARTH_CONFIG or /etc/hearth/hearth.yaml; docs/install.md)',
    )
    .option('--join-token <token>', 'join token (agent.joinToken, HEARTH_JOIN_TOKEN)')
    .option('--listen <host>', 'listen address (agent.listen, default 127.0.0.1)')
    .option('--port <port>', `listen port (agent.port, default ${AGENT_DEFAULTS.listenPort})`)
    .option('--advertise <url>', 'URL the manager uses to reach this agent')
    .option('--name <name>', 'host name (default: hostname)')
    .option('--bridge <name>', 'bridge for VM NICs')
    .option('--cidr <cidr>', 'subnet of that bridge')
    .option('--underlay <ip>', 'address other hosts reach this one on (VXLAN networks need it)')
    .option(
      '--dns-upstream <server...>',
      "DNS servers the networks' forwarders ask (IP or IP#port; default the host's resolv.conf)",
    )
    .option('--ksm', 'turn on kernel same-page merging so idle guests share identical memory pages')
    .option(
      '--max-boots <n>',
      'VMs booting at once at most; more wait their turn (default: the cores under TCG, 4 per core with KVM)',
    )
    .option(
      '--tcg-cache-mib <n>',
      "QEMU without KVM: each VM's translated-code cache in MiB (default 64; less saves memory, costs CPU)",
    )
    .option(
      '--tls-cert <file>',
      "serve the API with the operator's certificate (PEM; default: one the manager issues)",
    )
    .option('--tls-key <file>', 'its private key (PEM)')
    .option(
      '--insecure-http',
      'serve the API over plain HTTP (credentials and guest secrets travel in clear)',
    )
    .option('--label <k=v...>', 'host labels, set at each registration (VM host selectors match them)')
    .action(async (o: AgentOptions) => {
      try {
        const { loadHostConfig } = await import('../host-config.ts');
        const g = program.opts<{ dataDir?: string }>();
        const cfg = await loadHostConfig({
          path: o.config,
          flags: {
            dataDir: g.dataDir,
            'agent.manager': o.manager,
            'agent.joinToken': o.joinToken,
            'agent.listen': o.listen,
            'agent.port': o.port,
            'agent.advertise': o.advertise,
            'agent.name': o.name,
            'agent.bridge': o.bridge,
            'agent.cidr': o.cidr,
            'agent.underlay': o.underlay,
            'agent.dnsUpstream': o.dnsUpstream,
            'agent.ksm': o.ksm,
            'agent.maxBoots': o.maxBoots,
            'agent.tcgCacheMib': o.tcgCacheMib,
            'agent.tlsCert': o.tlsCert,
            'agent.tlsKey': o.tlsKey,
            'agent.insecureHttp': o.insecureHttp,
            'agent.labels': o.label,
          },
        });
        const a = cfg.agent;
        if (!a.manager) {
          throw new UsageError(
            'The agent needs its manager: --manager <url>, agent.manager in the configuration file, or HEARTH_MANAGER_URL.',
          );
        }
        // Loaded on use: the agent (fastify, pino, the VMM drivers) is not needed by the other verbs.
        const [{ hostLogger }, { startAgent }] = await Promise.all([
          import('../host-log.ts'),
          import('@hearth/agent'),
        ]);
        // One key per level of naming: `service` for the process, `component` for the part inside it.
        const log: Logger = (await hostLogger(cfg.log)).child({ service: 'agent' });
        // Needed to join; a registered host re-registers with the credential in its data directory.
        const agent = await startAgent({
          ...AGENT_DEFAULTS,
          // The agent keeps its state in <data dir>/agent, as under `hearth up`.
          dataDir: join(cfg.dataDir, 'agent'),
          managerUrl: a.manager,
          joinToken: a.joinToken ?? '',
          name: a.name,
          listenHost: a.listen,
          listenPort: a.port,
          advertiseUrl: a.advertise,
          underlay: a.underlay ?? null,
          ...(a.dnsUpstream ? { dnsUpstream: a.dnsUpstream } : {}),
          ksm: a.ksm,
          firecrackerDiffSnapshots: a.firecrackerDiffSnapshots,
          ...(a.maxBoots ? { maxConcurrentBoots: a.maxBoots } : {}),
          ...(a.tcgCacheMib ? { tcgCacheMib: a.tcgCacheMib } : {}),
          ...(a.labels ? { labels: hostLabels(a.labels) } : {}),
          ...agentTls(a),
          bridge:
            a.bridge && a.cidr
              ? { bridge: a.bridge, gatewayCidr: a.cidr.replace(/\.\d+\/(\d+)$/, '.1/$1'), subnet: a.cidr }
              : null,
          log,
        });
        // Requests in flight finish (bounded) before the process exits.
        const stop = () => void agent.dispose().then(() => process.exit(0));
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
        if (process.send) {
          // Run by `hearth up`: tell it we are registered; exit when it is gone (even killed by SIGKILL).
          process.send({ type: 'registered', hostId: agent.hostId, url: agent.url });
          process.once('disconnect', () => {
            log.warn('hearth up is gone; the agent stops');
            stop();
          });
        }
      } catch (e) {
        process.exitCode = reportError(e, false);
        // An IPC channel to `hearth up` would keep the process alive.
        if (process.send) setTimeout(() => process.exit(process.exitCode ?? 1), 50).unref();
        process.disconnect?.();
      }
    });
}

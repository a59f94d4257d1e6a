import type { Command } from 'commander';
import { AGENT_DEFAULTS } from '@hearth/agent/defaults';
import { join } from 'node:path';
import { defaultDataDir } from '../config.ts';
import { reportError } from '../output.ts';
import { LOG_REDACT } from '@hearth/contract/log-redaction';

interface AgentOptions {
  manager: string;
  joinToken?: string;
  listen: string;
  port: number;
  advertise?: string;
  name?: string;
  bridge?: string;
  cidr?: string;
  underlay?: string;
  dnsUpstream?: string[];
  ksm?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  insecureHttp?: boolean;
}

/** How the agent serves its API: manager-issued certificate by default. */
function agentTls(o: AgentOptions): { tls?: { certFile: string; keyFile: string } | false } {
  const certFile = o.tlsCert ?? process.env.HEARTH_AGENT_TLS_CERT;
  const keyFile = o.tlsKey ?? process.env.HEARTH_AGENT_TLS_KEY;
  if (o.insecureHttp) return { tls: false };
  if (certFile || keyFile) {
    if (!certFile || !keyFile) throw new Error('--tls-cert and --tls-key go together');
    return { tls: { certFile, keyFile } };
  }
  return {};
}

/** A standalone agent joining a manager elsewhere (multi-host mode, and crash tests). */
export function agentCommand(program: Command): void {
  program
    .command('agent')
    .description('Run a host agent that joins a manager')
    .requiredOption('--manager <url>', 'manager URL')
    .option('--join-token <token>', 'join token (or HEARTH_JOIN_TOKEN)')
    .option('--listen <host>', 'listen address', '127.0.0.1')
    .option('--port <port>', 'listen port', (v) => Number(v), AGENT_DEFAULTS.listenPort)
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
      '--tls-cert <file>',
      "serve the API with the operator's certificate (PEM; default: one the manager issues)",
    )
    .option('--tls-key <file>', 'its private key (PEM)')
    .option(
      '--insecure-http',
      'serve the API over plain HTTP (credentials and guest secrets travel in clear)',
    )
    .action(async (o: AgentOptions) => {
      // Loaded on use: the agent (fastify, pino, the VMM drivers) is not needed by the other verbs.
      const [{ default: pino }, { startAgent }] = await Promise.all([
        import('pino'),
        import('@hearth/agent'),
      ]);
      // One key per level of naming: `service` for the process, `component` for the part inside it.
      const log = pino({ level: process.env.HEARTH_LOG_LEVEL ?? 'info', redact: LOG_REDACT }).child({
        service: 'agent',
      });
      try {
        // Needed to join; a registered host re-registers with the credential in its data directory.
        const joinToken = o.joinToken ?? process.env.HEARTH_JOIN_TOKEN ?? '';
        const agent = await startAgent({
          ...AGENT_DEFAULTS,
          // The agent keeps its state in <data dir>/agent, as under `hearth up`.
          dataDir: join(program.opts<{ dataDir?: string }>().dataDir ?? defaultDataDir(), 'agent'),
          managerUrl: o.manager,
          joinToken,
          name: o.name,
          listenHost: o.listen,
          listenPort: o.port,
          advertiseUrl: o.advertise,
          underlay: o.underlay ?? null,
          ...(o.dnsUpstream ? { dnsUpstream: o.dnsUpstream } : {}),
          ksm: Boolean(o.ksm),
          ...agentTls(o),
          bridge:
            o.bridge && o.cidr
              ? { bridge: o.bridge, gatewayCidr: o.cidr.replace(/\.\d+\/(\d+)$/, '.1/$1'), subnet: o.cidr }
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

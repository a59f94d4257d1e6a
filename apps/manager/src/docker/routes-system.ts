import { arch, cpus, hostname, release, totalmem } from 'node:os';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Container, Image } from '@hearth/contract';
import { credsOf, listContainers, must, type DockerDeps } from './calls.ts';

/** The Docker Engine API version served: the one Debian's docker.io 20.10 client speaks. */
export const API_VERSION = '1.41';
export const MIN_API_VERSION = '1.24';

const goArch = () => (arch() === 'x64' ? 'amd64' : arch());

function pingHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('api-version', API_VERSION)
    .header('docker-experimental', 'false')
    .header('ostype', 'linux')
    .header('cache-control', 'no-cache, no-store, must-revalidate')
    .header('pragma', 'no-cache');
}

/**
 * `/_ping` (no credentials: the client asks it first, for the API version only, as Docker's
 * does), `/version` and `/info` (a caller with a token).
 */
export function systemRoutes(app: FastifyInstance, deps: DockerDeps): void {
  app.get('/_ping', async (_req, reply) => pingHeaders(reply).type('text/plain; charset=utf-8').send('OK'));

  app.get('/version', async (req) => {
    await must(deps.backend, credsOf(req.headers), 'GET', '/v1/me');
    const v = {
      Version: deps.version,
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: 'hearth',
      GoVersion: `node ${process.version}`,
      Os: 'linux',
      Arch: goArch(),
      KernelVersion: release(),
      BuildTime: '',
    };
    return {
      Platform: { Name: 'Hearth (containers are microVMs)' },
      Components: [{ Name: 'Engine', Version: deps.version, Details: { ...v, Experimental: 'false' } }],
      ...v,
    };
  });

  app.get('/info', async (req) => {
    const creds = credsOf(req.headers);
    const containers: Container[] = await listContainers(deps.backend, creds, true);
    const images = await must<{ items: Image[] }>(deps.backend, creds, 'GET', '/v1/images?limit=500');
    const count = (s: string) => containers.filter((c) => c.state === s).length;
    return {
      ID: 'hearth',
      Name: hostname(),
      ServerVersion: deps.version,
      Containers: containers.length,
      ContainersRunning: count('running'),
      ContainersPaused: count('paused'),
      ContainersStopped: containers.length - count('running') - count('paused'),
      Images: images.items.filter((i) => i.source.startsWith('oci:')).length,
      Driver: 'hearth-microvm',
      DriverStatus: [['Isolation', 'one microVM per container']],
      Plugins: { Volume: ['hearth'], Network: ['hearth'], Authorization: null, Log: ['hearth'] },
      MemoryLimit: true,
      SwapLimit: false,
      CpuCfsPeriod: false,
      CpuCfsQuota: false,
      IPv4Forwarding: true,
      Debug: false,
      NFd: 0,
      NGoroutines: 0,
      SystemTime: new Date().toISOString(),
      LoggingDriver: 'hearth',
      CgroupDriver: 'none',
      CgroupVersion: '2',
      KernelVersion: release(),
      OperatingSystem: 'Hearth',
      OSType: 'linux',
      Architecture: arch() === 'x64' ? 'x86_64' : arch(),
      NCPU: cpus().length,
      MemTotal: totalmem(),
      IndexServerAddress: 'https://index.docker.io/v1/',
      RegistryConfig: { InsecureRegistryCIDRs: [], IndexConfigs: {}, Mirrors: [] },
      Labels: [],
      ExperimentalBuild: false,
      SecurityOptions: [],
      Warnings: [],
    };
  });
}

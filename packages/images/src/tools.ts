import type { BuiltinArtifact } from './builtin.ts';
import { ensureOnBase } from './runtimes.ts';

/**
 * Tool images: the base image plus a tool from Debian's archive, for the benchmarks
 * (`bench/net.ts` boots the iperf3 one). Built on first use and cached by recipe hash like the
 * runtimes, but not offered by the manager: a benchmark uploads the one it needs.
 */
export const TOOLS = {
  iperf3: {
    recipe: 'tool-iperf3.sh',
    parts: ['runtime-lib.sh'],
    description: "busybox base + Debian bookworm's iperf3 (.debs from the Debian archive)",
  },
  openssh: {
    recipe: 'tool-openssh.sh',
    parts: ['runtime-lib.sh'],
    description: "busybox base + Debian bookworm's OpenSSH server, ssh-keygen and sftp-server (.debs)",
  },
} as const;

export function ensureToolImage(name: keyof typeof TOOLS): Promise<BuiltinArtifact> {
  return ensureOnBase('tool', name, TOOLS[name]);
}

import type { GuestApp } from '@hearth/contract';

/** The subset of image meta that describes an OCI image's process (see oci-import.ts). */
interface OciProcess {
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workdir?: string;
  user?: string;
}

/**
 * The process the guest agent runs as PID 1 for an OCI image: ENTRYPOINT + CMD (Docker's rule:
 * CMD is the arguments of ENTRYPOINT, or the command when there is none), the image's ENV
 * overridden by the VM's env, its WORKDIR and USER. Null when the image names no process.
 */
export function appFromImage(meta: Record<string, unknown>, vmEnv: Record<string, string>): GuestApp | null {
  const oci = meta.oci as OciProcess | undefined;
  if (!oci) return null;
  const argv = [...(oci.entrypoint ?? []), ...(oci.cmd ?? [])];
  if (!argv.length) return null;
  const env = new Map<string, string>();
  env.set('PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  for (const kv of oci.env ?? []) {
    const i = kv.indexOf('=');
    if (i > 0) env.set(kv.slice(0, i), kv.slice(i + 1));
  }
  for (const [k, v] of Object.entries(vmEnv)) env.set(k, v);
  return {
    argv,
    env: [...env].map(([k, v]) => `${k}=${v}`),
    workdir: oci.workdir || '/',
    user: oci.user ?? '',
    restart: 'on-failure',
  };
}

/**
 * The language runtimes a VM boots from by name: the rootfs image `runtime-<name>`, built from
 * its recipe on first use (the recipes live in @hearth/images, keyed by these names). The CLI's
 * `--runtime`, the dashboard's picker and the manager's image names all read this list.
 */
export const RUNTIME_LABELS = {
  node22: 'Node.js 22',
  python3: 'Python 3 (3.11)',
} as const;

export type Runtime = keyof typeof RUNTIME_LABELS;

export const RUNTIMES = Object.keys(RUNTIME_LABELS) as Runtime[];

/** Own keys only: `__proto__` or `constructor` name no runtime. */
export const isRuntime = (name: string): name is Runtime => Object.hasOwn(RUNTIME_LABELS, name);

/** The runtime an image name denotes (`runtime-node22` → `node22`), or null. */
export function runtimeOfImage(imageName: string): Runtime | null {
  const m = /^runtime-(.+)$/.exec(imageName);
  return m && isRuntime(m[1]!) ? m[1] : null;
}

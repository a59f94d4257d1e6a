/**
 * The language runtimes a VM boots from by name, as vmsan names them: `base` is the base image
 * itself; every other runtime is the rootfs image `runtime-<name>`, built from its recipe on first
 * use (the recipes live in @hearth/images, keyed by these names). The CLI's `--runtime`, the
 * dashboard's pickers and the manager's image names all read this list.
 */
export const RUNTIME_LABELS = {
  base: 'Base (busybox)',
  node22: 'Node.js 22',
  node24: 'Node.js 24',
  'python3.13': 'Python 3.13',
  ruby: 'Ruby 3.3',
} as const;

export type Runtime = keyof typeof RUNTIME_LABELS;

/** The runtimes built from a recipe: all but `base`, which is the base image as it is. */
export type BuiltRuntime = Exclude<Runtime, 'base'>;

export const RUNTIMES = Object.keys(RUNTIME_LABELS) as Runtime[];

/**
 * Older names still accepted. `python3` was Debian bookworm's Python 3.11 and now names Python 3.13
 * (Debian trixie's python3): the name never promised a minor version, and a VM created from the old
 * image keeps its own disk (docs/images.md, "Runtimes").
 */
export const RUNTIME_ALIASES: Readonly<Record<string, Runtime>> = { python3: 'python3.13' };

/** Own keys only: `__proto__` or `constructor` name no runtime. */
export const isRuntime = (name: string): name is Runtime => Object.hasOwn(RUNTIME_LABELS, name);

/** A runtime's name or alias → its runtime (`python3` → `python3.13`), or null. */
export function canonicalRuntime(name: string): Runtime | null {
  if (isRuntime(name)) return name;
  return Object.hasOwn(RUNTIME_ALIASES, name) ? RUNTIME_ALIASES[name]! : null;
}

/** The image a runtime boots from: `base`, or `runtime-<name>`. */
export const runtimeImageName = (rt: Runtime): string => (rt === 'base' ? 'base' : `runtime-${rt}`);

/**
 * The built runtime an image name denotes (`runtime-node22` → `node22`, the alias
 * `runtime-python3` → `python3.13`), or null (also for `base`, which is no built runtime).
 */
export function runtimeOfImage(imageName: string): BuiltRuntime | null {
  const m = /^runtime-(.+)$/.exec(imageName);
  const rt = m ? canonicalRuntime(m[1]!) : null;
  return rt && rt !== 'base' ? rt : null;
}

/**
 * An image name with a runtime alias replaced by its runtime's image (`runtime-python3` →
 * `runtime-python3.13`, `runtime-base` → `base`); any other name as it is. Resolved before the
 * image store is asked, so an older install's own `runtime-python3` row does not shadow the alias.
 */
export function canonicalImageName(imageName: string): string {
  const m = /^runtime-(.+)$/.exec(imageName);
  const rt = m ? canonicalRuntime(m[1]!) : null;
  return rt ? runtimeImageName(rt) : imageName;
}

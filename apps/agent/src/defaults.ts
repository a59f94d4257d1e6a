/** The agent's defaults, in a module of their own so the CLI reads them without loading the agent. */
export const AGENT_DEFAULTS = {
  listenHost: '127.0.0.1',
  listenPort: 18081,
  heartbeatMs: 5000,
  bootTimeoutMs: 90_000,
  consoleLogCap: 1024 * 1024,
} as const;

/**
 * Node.js flags for the agent process, given on its command line (V8 reads them only at start,
 * and Node.js refuses `--lite-mode` in NODE_OPTIONS).
 *
 * `--lite-mode`: V8 interprets the agent's JavaScript instead of compiling it to machine code
 * (no optimising or baseline compilers, no WebAssembly): an idle agent holds ~10 MiB less RSS
 * (66 → 56 MiB), and the CPU its work costs did not rise measurably (boot, 50 execs, 128 MiB of
 * file transfer, interleaved runs), since its hot paths move bytes in Buffers in native code. The
 * agent never uses `fetch` (its WebAssembly HTTP parser would be missing): it calls the manager
 * over node:http(s).
 *
 * `--max-semi-space-size=1`: V8 lets the young generation grow to 16 MiB per semi-space while the
 * agent starts (loading and building its modules), and keeps those pages for good: an idle agent
 * held ~6 MiB more RSS than with 1 MiB semi-spaces. The agent's hot paths move bytes in Buffers,
 * which live outside the JavaScript heap, so the smaller young generation costs it little
 * collection work.
 */
export const AGENT_NODE_FLAGS = ['--max-semi-space-size=1', '--lite-mode'];

/**
 * Environment the agent process starts with (glibc reads it before any code runs), beside its
 * Node.js flags.
 *
 * `MALLOC_MMAP_THRESHOLD_`: glibc serves allocations from 128 KiB up with their own mappings,
 * returned whole on free, but raises that threshold to the size of any such block freed (up to
 * 32 MiB). After the first large Buffer an agent frees (a file read, a guest transfer frame),
 * later ones come from the main heap, and the heap cannot shrink past a live block above them:
 * an agent held 78 MiB after 20 boots four at a time, 21 MiB of it in malloc's heap. Fixed at
 * 128 KiB, the same run ended at 61 MiB with a 4 MiB heap. Large buffers then cost a mapping
 * each, which the agent's few and short-lived ones do not notice.
 */
export const AGENT_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072' };

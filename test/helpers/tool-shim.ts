import { accessSync, chmodSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface ToolCall {
  uid: number;
  groups: string;
  noNewPrivs: boolean;
  args: string[];
}

/**
 * Puts a wrapper named `tool` first on PATH that records who runs it (uid, groups, no_new_privs)
 * and with which arguments, then runs the real tool. The wrapper and its log sit in a directory
 * every uid can reach, so an unprivileged run records itself too. Call `dispose()` to restore PATH.
 */
export function shimTool(tool: string): { calls(): ToolCall[]; dispose(): void } {
  const real = (process.env.PATH ?? '')
    .split(delimiter)
    .map((d) => join(d, tool))
    .find((p) => {
      try {
        accessSync(p, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
  if (!real) throw new Error(`${tool} is not installed`);
  const dir = mkdtempSync(join(tmpdir(), 'hearth-shim-'));
  chmodSync(dir, 0o755);
  const log = join(dir, 'calls.log');
  writeFileSync(log, '');
  chmodSync(log, 0o666);
  const script = `#!/bin/sh
nnp=$(sed -n 's/^NoNewPrivs:[[:space:]]*//p' /proc/self/status)
printf '%s\\t%s\\t%s' "$(id -u)" "$(id -G)" "$nnp" >> ${log}
for a in "$@"; do printf '\\t%s' "$a" >> ${log}; done
printf '\\n' >> ${log}
exec ${real} "$@"
`;
  writeFileSync(join(dir, tool), script, { mode: 0o755 });
  const oldPath = process.env.PATH;
  process.env.PATH = `${dir}${delimiter}${oldPath ?? ''}`;
  let disposed = false;
  return {
    calls: () =>
      readFileSync(log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const [uid, groups, nnp, ...args] = line.split('\t');
          return { uid: Number(uid), groups: groups!, noNewPrivs: nnp === '1', args };
        }),
    dispose: () => {
      if (disposed) return;
      disposed = true;
      process.env.PATH = oldPath;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

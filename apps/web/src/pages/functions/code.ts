import { FUNCTION_EXT, type FunctionRuntime, type FunctionVersion } from '@hearth/contract';

/** The handler each runtime's template exports, as `hearth fn deploy` documents them. */
export const DEFAULT_HANDLER: Record<FunctionRuntime, string> = {
  node22: 'index.handler',
  'python3.13': 'main.handler',
  ruby3: 'app.handler',
};

/** A working handler per runtime for a new function: it logs and echoes the event. */
export const TEMPLATE: Record<FunctionRuntime, string> = {
  node22: `exports.handler = async (event, context) => {
  console.log('hello from', context.awsRequestId);
  return { greeting: \`hello \${event.name ?? 'world'}\` };
};
`,
  'python3.13': `def handler(event, context):
    print("hello from", context.aws_request_id)
    return {"greeting": f"hello {event.get('name', 'world')}"}
`,
  ruby3: `def handler(event:, context:)
  puts "hello from #{context.aws_request_id}"
  { 'greeting' => "hello #{event['name'] || 'world'}" }
end
`,
};

/** The file a handler's module lives in: `src/app.handler` on ruby3 is `src/app.rb`. */
export function moduleFile(runtime: FunctionRuntime, handler: string): string {
  const dot = handler.lastIndexOf('.');
  return `${dot > 0 ? handler.slice(0, dot) : handler}.${FUNCTION_EXT[runtime]}`;
}

/**
 * Where a failed build's error points in `file`: the line Node (`/var/task/index.js:2`), Ruby
 * (`/var/task/app.rb:3: syntax error`) and Python (`File "/var/task/main.py", line 3`) report.
 */
export function errorLine(error: string, file: string): number | null {
  const f = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m =
    new RegExp(`/var/task/${f}:(\\d+)`).exec(error) ?? new RegExp(`/var/task/${f}", line (\\d+)`).exec(error);
  return m ? Number(m[1]) : null;
}

/** A function's state for the list: its newest version's, or `ready` once something is live. */
export function functionState(
  versions: readonly FunctionVersion[],
  live: number | undefined,
): 'building' | 'ready' | 'failed' | 'none' {
  const newest = versions[0];
  if (!newest) return 'none';
  if (newest.state === 'building') return 'building';
  if (newest.state === 'failed' && live === undefined) return 'failed';
  return live === undefined ? newest.state : 'ready';
}

/** `NAME=value` lines from an env map, and back (errors name the bad line). */
export const envText = (env: Record<string, string>) =>
  Object.entries(env)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');

export function parseEnv(text: string): { value: Record<string, string>; error: string | null } {
  const value: Record<string, string> = {};
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (!line) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) return { value, error: `each line must look like NAME=value (check "${line}")` };
    value[line.slice(0, eq).trim()] = line.slice(eq + 1);
  }
  return { value, error: null };
}

/** The event textarea's JSON, or why it is not JSON. */
export function parseEvent(text: string): { event: unknown; error: string | null } {
  if (!text.trim()) return { event: {}, error: null };
  try {
    return { event: JSON.parse(text) as unknown, error: null };
  } catch (e) {
    return { event: null, error: `The event is not JSON: ${(e as Error).message}` };
  }
}

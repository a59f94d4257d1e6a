import type { FastifyInstance } from 'fastify';

/**
 * Counts requests that change something (every method but GET) from arrival until their response
 * is closed, so shutdown can let them finish: a delete that arrived just before SIGTERM still
 * removes the VM's TAP. Reads and streams (logs, consoles, file downloads) are not waited for.
 */
export function trackChanges(app: FastifyInstance): { drain(timeoutMs: number): Promise<boolean> } {
  let open = 0;
  const idle = new Set<() => void>();
  app.addHook('onRequest', async (req, reply) => {
    if (req.method === 'GET' || req.method === 'HEAD') return;
    open++;
    reply.raw.once('close', () => {
      open--;
      if (open === 0) for (const f of [...idle]) f();
    });
  });
  return {
    drain(timeoutMs) {
      if (open === 0) return Promise.resolve(true);
      return new Promise((resolve) => {
        const done = (ok: boolean) => {
          clearTimeout(timer);
          idle.delete(onIdle);
          resolve(ok);
        };
        const onIdle = () => done(true);
        const timer = setTimeout(() => done(false), timeoutMs);
        idle.add(onIdle);
      });
    },
  };
}

import { GUEST_AGENT_GUEST_PATH, injectGuest } from '../../guest/inject.ts';
import type { BootRun } from './run.ts';

/**
 * Step 2: the guest agent and its configuration go onto the disk (a restore keeps what the
 * snapshot had). Images that cannot take an agent still boot, without exec and shell.
 */
export async function injectAgent(b: BootRun): Promise<void> {
  const { rec, from } = b;
  const spec = rec.spec;
  rec.hasAgent = from ? from.hasAgent && Boolean(spec.guest) : false;
  if (!spec.guest || from) return;
  const inj = await injectGuest(
    b.files.disk,
    {
      secret: spec.guest.secret,
      hostname: spec.name,
      users: spec.guest.users,
      env: spec.env,
      ...(spec.guest.app ? { app: spec.guest.app } : {}),
    },
    b.ctx.o.guestAgentPath,
    { asInit: spec.bootArgs.split(/\s+/).includes(`init=${GUEST_AGENT_GUEST_PATH}`) },
  );
  rec.hasAgent = inj.hasAgent;
  if (!inj.hasAgent)
    b.log.warn({ reason: inj.reason }, 'no guest agent in this image; exec and shell unavailable');
}

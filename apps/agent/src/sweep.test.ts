import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { label } from './networks.ts';
import { sweepLeftovers } from './sweep.ts';

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'ignore' });
const exists = (name: string) => {
  try {
    ip('link', 'show', 'dev', name);
    return true;
  } catch {
    return false;
  }
};

describe('start-up sweep', () => {
  const tag = randomBytes(3).toString('hex');
  const links = { mine: `hsw${tag}a`, other: `hsw${tag}b`, legacy: `hsw${tag}c` };
  afterAll(() => {
    for (const l of Object.values(links)) if (exists(l)) ip('link', 'del', 'dev', l);
  });

  it("removes what this host labelled, never another host's of the same agent name", async () => {
    // Two agents on one machine, both named after it, registered as different hosts.
    const name = `box-${tag}`;
    const make = (link: string, owner: string) => {
      ip('tuntap', 'add', 'dev', link, 'mode', 'tap');
      ip('link', 'set', 'dev', link, 'alias', label('vm', `vm_${link}`, owner));
    };
    make(links.mine, `host_a${tag}`);
    make(links.other, `host_b${tag}`);
    // What an agent made before labels carried host ids: its name, swept once at start-up.
    make(links.legacy, name);
    const removed = await sweepLeftovers({
      owners: [`host_a${tag}`, name],
      runningVms: new Set(),
      networksInUse: new Set(),
      keepBridges: new Set(),
      kinds: ['vm'],
      log: pino({ level: 'silent' }),
    });
    expect(removed.links.sort()).toEqual([links.mine, links.legacy].sort());
    expect(exists(links.other)).toBe(true);
  });
});

import pino from 'pino';
import { expect, it } from 'vitest';
import type { AgentVmStatus } from '@hearth/contract';
import { ManagerCallError } from './manager-client.ts';
import { ReportQueue } from './report-queue.ts';

const log = pino({ level: 'silent' });
const status = (id: string) => ({ id, state: 'running' }) as unknown as AgentVmStatus;

it('keeps a report the manager did not get and sends it with the next flush', async () => {
  const sent: string[][] = [];
  let up = false;
  const q = new ReportQueue(async (batch) => {
    if (!up) throw new Error('connect ECONNREFUSED');
    sent.push(batch.map((s) => s.id));
  }, log);
  q.push(status('a'));
  q.push(status('b'));
  await q.flush();
  expect(sent).toEqual([]);
  expect(q.size).toBe(2);
  up = true;
  await q.flush();
  expect(sent.flat()).toEqual(['a', 'b']);
  expect(q.size).toBe(0);
});

it('holds reports until the agent has a host id, and drops a batch the manager refuses', async () => {
  let ready = false;
  const q = new ReportQueue(
    (batch) => (ready ? Promise.reject(new ManagerCallError(400, `bad ${batch.length}`)) : null),
    log,
  );
  q.push(status('a'));
  await q.flush();
  expect(q.size).toBe(1);
  ready = true;
  await q.flush();
  expect(q.size).toBe(0);
});

it('keeps only the newest reports while the manager is away', async () => {
  const q = new ReportQueue(() => Promise.reject(new Error('timeout')), log, 3);
  for (const id of ['a', 'b', 'c', 'd', 'e']) q.push(status(id));
  await q.flush();
  expect(q.size).toBe(3);
});

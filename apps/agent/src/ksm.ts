import { readFile, writeFile } from 'node:fs/promises';

const KSM_DIR = '/sys/kernel/mm/ksm';

/**
 * Kernel same-page merging: QEMU already marks guest RAM mergeable (mem-merge defaults to on),
 * so turning ksmd on is all it takes for idle guests' identical pages (kernel text, zeroed
 * pages, the same image's page cache) to be stored once. Off unless the operator asks: it costs
 * ksmd CPU time, and merged pages let one guest time another's memory contents.
 */
export async function enableKsm(dir = KSM_DIR): Promise<'enabled' | 'already on' | 'unavailable'> {
  const run = await readFile(`${dir}/run`, 'utf8').catch(() => null);
  if (run === null) return 'unavailable';
  if (run.trim() === '1') return 'already on';
  await writeFile(`${dir}/run`, '1');
  return 'enabled';
}

/** One line for `hearth doctor`: whether ksmd runs and how many pages it merged. */
export async function ksmSummary(dir = KSM_DIR): Promise<string> {
  const read = (f: string) => readFile(`${dir}/${f}`, 'utf8').then((t) => t.trim());
  const run = await read('run').catch(() => null);
  if (run === null) throw new Error('this kernel has no KSM: guest memory is not deduplicated');
  if (run !== '1') return 'KSM present but off (hearth agent --ksm turns it on)';
  const sharing = Number(await read('pages_sharing'));
  return `KSM on: ${sharing} guest pages merged (${((sharing * 4) / 1024).toFixed(0)} MiB saved)`;
}

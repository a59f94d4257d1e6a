/** How the guest agent words a restart in its app events (apps/guest/appsup.go). */
const GUEST_RESTART = /^restarted, exit code (-?\d+), attempt (\d+)$/;

/**
 * The exit code that led to each of the guest's restarts, by its attempt number, from the VM's
 * app event messages (oldest first). The guest counts from 1 again after each boot of the VM, so
 * a later message for the same attempt wins.
 */
export function guestRestartCodes(messages: readonly (string | null)[]): Map<number, number> {
  const codes = new Map<number, number>();
  for (const m of messages) {
    const match = m ? GUEST_RESTART.exec(m) : null;
    if (match) codes.set(Number(match[2]), Number(match[1]));
  }
  return codes;
}

/**
 * One container event message per restart after `from` up to `to`, in the container's count:
 * app reports can come coalesced (two quick restarts in one), and every attempt is still named.
 * `offset` is the container's count before its VM's current boot (the guest's attempt n is the
 * container's offset + n); an attempt whose exit code is unknown is named without one.
 */
export function restartMessages(
  from: number,
  to: number,
  offset: number,
  codes: ReadonlyMap<number, number>,
): string[] {
  const out: string[] = [];
  for (let n = from + 1; n <= to; n++) {
    const code = codes.get(n - offset);
    out.push(`restarted${code !== undefined ? `, exit code ${code}` : ''}, attempt ${n}`);
  }
  return out;
}

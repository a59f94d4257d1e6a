const CONSOLE_TAIL_LINES = 15;

/** The last non-empty console lines, for a failure reason. */
export function consoleTailReason(text: string): string {
  const lines = text
    .replace(/\r/g, '')
    .split('\n')
    .filter((l) => l.trim());
  return lines.slice(-CONSOLE_TAIL_LINES).join('\n');
}

const KEY_LINES = [
  /hearth-initrd: .*/,
  /Kernel panic - not syncing: .*/,
  /VFS: Unable to mount .*/,
  /No working init found.*/,
];

/** The console line that best explains a failed boot, when there is one. */
export function keyConsoleLine(text: string): string | null {
  for (const re of KEY_LINES) {
    const all = text.match(new RegExp(re.source, 'g'));
    if (all?.length) return all[all.length - 1]!.trim();
  }
  return null;
}

/** A failure reason: the message, the console line that explains it, and the console's last lines. */
export function withConsole(message: string, text: string): string {
  if (!text.trim()) {
    return `${message}: the guest printed nothing on its serial console (wrong kernel format or architecture, or no console=ttyS0?)`;
  }
  const key = keyConsoleLine(text);
  const tail = consoleTailReason(text);
  return `${message}${key ? `: ${key}` : ''}${tail ? `\n--- console (last lines) ---\n${tail}` : ''}`;
}

/** How much of the console log a failure reason looks at. */
export const CONSOLE_REASON_BYTES = 16384;

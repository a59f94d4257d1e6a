/**
 * Turns a stream of text chunks into JSON objects, one per line (QMP, Firecracker's metrics).
 * A line may span chunks; blank, malformed and non-object lines are skipped. Returns the
 * function to feed the chunks to.
 */
export function jsonLines(onObject: (value: Record<string, unknown>) => void): (chunk: string) => void {
  let buffer = '';
  return (chunk) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (!line) continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        continue;
      }
      if (value && typeof value === 'object' && !Array.isArray(value))
        onObject(value as Record<string, unknown>);
    }
  };
}

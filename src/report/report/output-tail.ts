import { constants, createReadStream, openSync } from 'node:fs';
import { createInterface } from 'node:readline';

/** How many of a service's last output lines a report shows. */
export const TAIL_LINES = 20;

/**
 * The last output lines of the given services, from the run log (`runs/<run>.log`, where every
 * line a start command printed is recorded; the journal keeps state changes only). Read as a
 * stream: a log may be large, and only a few lines per service are kept.
 */
export async function outputTails(
  logFile: string,
  services: readonly string[],
): Promise<Map<string, string[]>> {
  const tails = new Map<string, string[]>(services.map((name) => [name, []]));
  if (services.length === 0) return tails;
  // Not through a symlink planted in the state dir; a log that cannot be read gives no tails.
  let fd: number;
  try {
    fd = openSync(logFile, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return tails;
  }
  const input = createReadStream('', { fd, encoding: 'utf8' });
  try {
    for await (const text of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) read(text);
  } catch {
    // The tails read so far stand.
  } finally {
    input.destroy();
  }
  return tails;

  function read(text: string): void {
    if (!text.includes('"service.output"')) return;
    let entry: { event?: unknown; service?: unknown; msg?: unknown; line?: unknown };
    try {
      entry = JSON.parse(text);
    } catch {
      return;
    }
    if (entry.event !== 'service.output' || typeof entry.service !== 'string') return;
    const tail = tails.get(entry.service);
    if (!tail) return;
    // `line`: logs written before the message moved to pino's `msg`.
    const line = typeof entry.msg === 'string' ? entry.msg : typeof entry.line === 'string' ? entry.line : '';
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
  }
}

import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { killAllWith, killDaemonsUnder } from './processes.js';
import { useTempDir } from './tmp.js';

/** The fixture service the end-to-end plans run (test/fixtures/service.mjs). */
export const FIXTURE = fileURLToPath(new URL('../fixtures/service.mjs', import.meta.url));

/**
 * Fresh directories whose paths mark every process a test starts: after each test, the daemons
 * whose pid files lie under them and every process carrying them are killed.
 */
export function useWorkDirs(): () => string {
  const tempDir = useTempDir();
  const markers: string[] = [];
  afterEach(() => {
    for (const marker of markers.splice(0)) {
      killDaemonsUnder(marker);
      killAllWith(marker);
    }
  });
  return () => {
    const dir = tempDir();
    markers.push(dir);
    return dir;
  };
}

/** A daemon start command running the fixture service. */
export const daemon = (...args: (string | number)[]) => ({
  run: [process.execPath, FIXTURE, ...args.map(String)],
  daemon: true,
});

/** Health timing that notices a service within a few hundred milliseconds. */
export const fast = { interval: '100ms', start_interval: '50ms', retries: 40 };

/** A health block with one tcp check on 127.0.0.1:port, `fast` timing. */
export const tcp = (port: number) => ({ checks: [{ tcp: { port } }], ...fast });

/** An event of `--log-format json` output, with the fields the tests read. */
export interface JsonEvent {
  event: string;
  service?: string;
  stage?: string;
  result?: string;
  reason?: string;
  message?: string;
  resumed?: boolean;
  services?: Record<string, { result: string; attempts: number }>;
}

/** The events of `--log-format json` output, one JSON object a line. */
export const events = (stdout: string): JsonEvent[] =>
  stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as JsonEvent);

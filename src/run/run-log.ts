import { once } from 'node:events';
import pino from 'pino';
import type { Listener, Timed } from './events.js';

/** The structured run log (SPEC section 3, "Output"): one pino JSON line per event, output lines included. */
export interface RunLog {
  listener: Listener;
  /** Flushes and closes the file. */
  close(): Promise<void>;
}

/** Opens `<state-dir>/<plan>/runs/<run-id>.log` (mode 0600) and logs every event to it. */
export function openRunLog(file: string, run: string): RunLog {
  const destination = pino.destination({ dest: file, sync: false, mode: 0o600, minLength: 4096 });
  const logger = pino(
    {
      base: { run },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      messageKey: 'msg',
    },
    destination,
  );
  const listener = (event: Timed) => {
    const { type, time: _time, ...fields } = event;
    const level = type === 'service.failed' || type === 'service.blocked' ? 'warn' : 'info';
    logger[level]({ event: type, ...fields });
  };
  return {
    listener,
    async close() {
      logger.flush();
      const finished = once(destination, 'finish');
      destination.end();
      await finished;
    },
  };
}

import { once } from 'node:events';
import pino from 'pino';
import type { Listener, Timed } from '../events.js';
import { levelOf } from '../log-level.js';
import { ioFailed, openStateFile, type StateError } from './state-files.js';

/**
 * The structured run log (SPEC section 3, "Output"): one pino JSON line per event, output lines
 * included. Every line has pino's own `level` (a number), `time` (epoch ms) and `msg` (the
 * event's name, or the output line), the `run` once, and no key twice, so that pino-pretty, Loki
 * and Elasticsearch read it unmodified.
 */
export interface RunLog {
  listener: Listener;
  /** A warning that is no event of the run (an observer that failed, src/observe/): a `warn` line with its source. */
  warn(source: string, message: string): void;
  /** Flushes and closes the file. */
  close(): Promise<void>;
}

/**
 * Opens `<state-dir>/<plan>/runs/<run-id>.log` (mode 0600, never through a link) and logs every
 * event to it. A write that fails (a full disk) is reported once to `onFailure`, which stops the
 * run, and ends the log: nothing more is written, and nothing throws into the run.
 */
export function openRunLog(file: string, run: string, onFailure: (error: StateError) => void): RunLog {
  let failed = false;
  const fail = (error: unknown) => {
    if (failed) return;
    failed = true;
    onFailure(ioFailed(file, error));
  };
  const fd = openStateFile(file, 'append');
  // Written synchronously in 32 KiB blocks: a service printing hundreds of megabytes then slows
  // to the disk's pace instead of piling up in memory (its output is paused upstream meanwhile),
  // and what is buffered reaches the file within half a second.
  const destination = pino.destination({
    dest: fd,
    sync: true,
    minLength: 32 * 1024,
    maxWrite: 128 * 1024,
    periodicFlush: 500,
  });
  // Each line's `time` is its event's (epoch milliseconds, as pino's default): the journal, the
  // log and every view then agree to the millisecond. An ISO date per output line cost more than
  // the rest of the line.
  let time = 0;
  const logger = pino(
    {
      base: { run },
      timestamp: () => `,"time":${time}`,
    },
    destination,
  );
  destination.on('error', fail);
  const outputs = new Map<string, pino.Logger>();
  const listener = (event: Timed) => {
    time = event.time;
    if (failed) return;
    // Output lines are most of a log's volume: one child logger per service and stream holds
    // their fields already serialized, and the line goes in as the message.
    if (event.type === 'service.output') {
      const key = `${event.service}\u0000${event.stream}`;
      let child = outputs.get(key);
      if (!child) {
        child = logger.child({
          event: event.type,
          service: event.service,
          stage: event.stage,
          stream: event.stream,
        });
        outputs.set(key, child);
      }
      child.info(event.line);
      return;
    }
    const { type, time: _time, ...fields } = event;
    // `run` is in every line already (pino's base): run.started's own would be a second `run`.
    if ('run' in fields) delete (fields as { run?: string }).run;
    logger[levelOf(event)]({ event: type, ...fields }, type);
  };
  return {
    listener,
    warn(source, message) {
      time = Date.now();
      if (!failed) logger.warn({ warning: source }, message);
    },
    async close() {
      if (!failed) {
        try {
          logger.flush();
          const finished = once(destination, 'finish');
          destination.end();
          await finished;
          return;
        } catch (error) {
          fail(error);
        }
      }
      // What could not be written is dropped: the file keeps what was.
      // (SonicBoom's types do not tell of its `destroyed`: one that is has closed already.)
      if ((destination as unknown as { destroyed?: boolean }).destroyed) return;
      const closed = once(destination, 'close').catch(fail);
      destination.destroy();
      await closed;
    },
  };
}

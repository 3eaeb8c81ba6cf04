import { closeSync, fsyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import type { Timed } from '../events.js';
import type { Redactor } from '../redact.js';
import { GENESIS, sealLine } from './format.js';
import { readJournal } from './read.js';

/**
 * Appends a run's events to its journal, one sealed line each, written with a synchronous write
 * before the step it records goes on (the listener runs inside the emit). Service output lines
 * are not state changes: they go to the run log only.
 */
export class JournalWriter {
  #fd: number;
  #seq: number;
  #previous: string;

  private constructor(
    fd: number,
    seq: number,
    previous: string,
    private readonly run: string,
    private readonly redactor: Redactor,
  ) {
    this.#fd = fd;
    this.#seq = seq;
    this.#previous = previous;
  }

  /** A new journal (mode 0600); fails if the file exists. */
  static create(file: string, run: string, redactor: Redactor): JournalWriter {
    return new JournalWriter(openSync(file, 'wx', 0o600), 0, GENESIS, run, redactor);
  }

  /** Continues an existing journal: a torn last line (a crash mid-write) is cut off first. */
  static resume(file: string, run: string, redactor: Redactor): JournalWriter {
    const read = readJournal(file);
    const fd = openSync(file, 'r+');
    if (read.torn) ftruncateSync(fd, read.completeBytes);
    closeSync(fd);
    const last = read.lines.at(-1);
    return new JournalWriter(
      openSync(file, 'a', 0o600),
      last?.seq ?? 0,
      last?.hash ?? GENESIS,
      run,
      redactor,
    );
  }

  readonly listener = (event: Timed): void => {
    if (event.type === 'service.output') return;
    const { type, time, ...fields } = event;
    this.#seq += 1;
    const { text, hash } = sealLine(this.#previous, {
      seq: this.#seq,
      time: new Date(time).toISOString(),
      run: this.run,
      event: type,
      ...this.redactor.deep(fields),
    });
    writeSync(this.#fd, text);
    this.#previous = hash;
    // The end of a run is worth a trip to the disk: it is what status, report and resume read.
    if (type === 'run.finished' || type === 'run.interrupted' || type === 'run.awaiting-approval')
      fsyncSync(this.#fd);
  };

  close(): void {
    closeSync(this.#fd);
  }
}

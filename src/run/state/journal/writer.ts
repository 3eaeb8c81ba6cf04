import { closeSync, fsyncSync, ftruncateSync } from 'node:fs';
import type { Timed } from '../../events.js';
import type { Redactor } from '../../redact.js';
import { ioFailed, openStateFile, type StateError, writeAll } from '../state-files.js';
import { GENESIS, sealLine } from './format.js';
import { readJournal } from './read.js';

/** Told once, when a write to the journal fails: the run must not go on unrecorded. */
export type OnWriteFailure = (error: StateError) => void;

/**
 * Appends a run's events to its journal, one sealed line each, written with a synchronous write
 * before the step it records goes on (the listener runs inside the emit). Service output lines
 * are not state changes: they go to the run log only. The file is never opened through a link.
 *
 * A write that fails (a full disk) ends the journal: nothing more is written to it, so that what
 * is there stays a valid chain, at worst with a torn last line that resume cuts off. The failure
 * is reported once, to stop the run.
 */
export class JournalWriter {
  #fd: number;
  #seq: number;
  #previous: string;
  #failed: StateError | undefined;

  private constructor(
    fd: number,
    seq: number,
    previous: string,
    private readonly file: string,
    private readonly run: string,
    private readonly redactor: Redactor,
    private readonly onFailure: OnWriteFailure,
  ) {
    this.#fd = fd;
    this.#seq = seq;
    this.#previous = previous;
  }

  /** A new journal (mode 0600); fails if the file exists. */
  static create(file: string, run: string, redactor: Redactor, onFailure: OnWriteFailure): JournalWriter {
    return new JournalWriter(openStateFile(file, 'create'), 0, GENESIS, file, run, redactor, onFailure);
  }

  /** Continues an existing journal: a torn last line (a crash mid-write) is cut off first. */
  static resume(file: string, run: string, redactor: Redactor, onFailure: OnWriteFailure): JournalWriter {
    const read = readJournal(file);
    const fd = openStateFile(file, 'extend');
    try {
      if (read.torn) ftruncateSync(fd, read.completeBytes);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    const { tip } = read;
    return new JournalWriter(fd, tip?.seq ?? 0, tip?.hash ?? GENESIS, file, run, redactor, onFailure);
  }

  /** The write that failed, if one did. */
  get failure(): StateError | undefined {
    return this.#failed;
  }

  readonly listener = (event: Timed): void => {
    if (event.type === 'service.output' || this.#failed) return;
    const { type, time, ...fields } = event;
    const { text, hash } = sealLine(this.#previous, {
      seq: this.#seq + 1,
      time: new Date(time).toISOString(),
      run: this.run,
      event: type,
      ...this.redactor.deep(fields),
    });
    try {
      writeAll(this.#fd, text);
      // The end of a run is worth a trip to the disk: it is what status, report and resume read.
      if (type === 'run.finished' || type === 'run.interrupted' || type === 'run.awaiting-approval')
        fsyncSync(this.#fd);
    } catch (error) {
      this.#failed = ioFailed(this.file, error);
      this.onFailure(this.#failed);
      return;
    }
    this.#seq += 1;
    this.#previous = hash;
  };

  close(): void {
    try {
      closeSync(this.#fd);
    } catch (error) {
      // Data not yet on disk can fail at close (NFS, a full disk): the run learns of it too.
      if (!this.#failed) {
        this.#failed = ioFailed(this.file, error);
        this.onFailure(this.#failed);
      }
    }
  }
}

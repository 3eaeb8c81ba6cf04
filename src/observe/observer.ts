import type { Listener } from '../run/events.js';

/**
 * Something that tells the world outside about a run (a trace, a metrics file): a subscriber of
 * the run's events like any view, with work left once the run's last event is out.
 */
export interface RunObserver {
  listener: Listener;
  /**
   * Ends its work: bounded in time by itself, never throws. Returns what went wrong, one line
   * each, for the run log and stderr: an observer's failure is a warning, never the run's.
   */
  finish(): Promise<ObserverWarning[]>;
}

/** A warning of an observer: which (`otlp`, `metrics`) and what happened. */
export interface ObserverWarning {
  source: 'otlp' | 'metrics';
  message: string;
}

import type { Listener, Timed } from '../../run/events.js';
import { unreachable } from '../../util/unreachable.js';
import type { Colors } from '../style.js';
import {
  escapedWords,
  failingChecks,
  formatElapsed,
  inFlightWords,
  notifyFailedWords,
  plural,
  teardownWords,
  tornDownWords,
  verifiedWords,
  via,
  waitingWords,
} from './words.js';

/**
 * The view of a run off a terminal (CI logs, pipes): one line per step, prefixed with the time
 * since the run started, service names aligned.
 */
export function plainRenderer(write: (text: string) => void, c: Colors, verbose: boolean): Listener {
  let started = 0;
  let width = 8;
  const line = (time: number, text: string) =>
    write(`${c.dim(formatElapsed(time - started).padStart(7))}  ${text}\n`);
  const who = (name: string) => c.bold(name.padEnd(width));

  return (event: Timed) => {
    switch (event.type) {
      case 'run.started': {
        started = event.time;
        const names = event.stages.flatMap((s) => s.services);
        width = Math.max(8, ...names.map((n) => n.length));
        write(
          `${c.bold(`restore ${event.mode ?? 'apply'} ${event.plan}`)}: ${plural(names.length, 'service')} in ${plural(event.stages.length, 'stage')}, run ${event.run}\n`,
        );
        return;
      }
      case 'run.resumed':
        started = event.time;
        width = Math.max(8, ...event.stages.flatMap((s) => s.services).map((n) => n.length));
        write(
          `${c.bold(`restore apply ${event.plan}`)}: resuming run ${event.run}; services recorded healthy are checked once, not restarted\n`,
        );
        return;
      case 'service.rolled-back':
        line(
          event.time,
          `${who(event.service)}  ${event.left_alone ? c.dim('left alone') : event.ok ? c.yellow('rolled back') : c.red('rollback failed')}  ${event.message}`,
        );
        return;
      case 'stage.started':
        line(
          event.time,
          c.bold(`stage ${event.stage} (${event.index}/${event.count}): ${event.services.join(', ')}`),
        );
        return;
      case 'stage.approved':
        line(
          event.time,
          `stage ${event.stage} approved by ${event.approver} (${via(event.via)}${event.signature ? ', signed' : ''})${event.comment ? `: ${event.comment}` : ''}`,
        );
        return;
      case 'stage.waiting-approval':
        line(event.time, c.yellow(waitingWords(event)));
        return;
      case 'run.awaiting-approval':
        line(
          event.time,
          c.yellow(`stage ${event.stage} needs approval (${plural(event.services, 'service')}); stopping`),
        );
        return;
      case 'service.starting': {
        const attempt = event.max_attempts > 1 ? `, attempt ${event.attempt} of ${event.max_attempts}` : '';
        line(
          event.time,
          `${who(event.service)}  starting  ${event.command ?? ''}${c.dim(` (${event.daemon ? 'daemon' : 'command'}${attempt})`)}`,
        );
        return;
      }
      case 'service.attempt':
        if (!event.ok)
          line(event.time, `${who(event.service)}  ${c.red('start failed')}  ${event.record.message}`);
        return;
      case 'service.probe':
        if (event.phase === 'skip-check') {
          if (!event.ok)
            line(
              event.time,
              `${who(event.service)}  not healthy yet (${failingChecks(event)}), will start it`,
            );
        } else if (!event.ok) {
          const note = event.counted ? '' : c.dim(' (inside start_period, not counted)');
          line(
            event.time,
            `${who(event.service)}  check ${event.round} failed  ${failingChecks(event)}${note}`,
          );
        }
        return;
      case 'service.healthy':
        line(
          event.time,
          event.resumed
            ? `${who(event.service)}  ${c.green('healthy')}  still, as recorded before the resume; not restarted`
            : event.rounds === 0
              ? `${who(event.service)}  ${c.green('healthy')}  in ${formatElapsed(event.duration_ms)} (no checks: its start succeeding is enough)`
              : `${who(event.service)}  ${c.green('healthy')}  after ${plural(event.rounds, 'round')} in ${formatElapsed(event.duration_ms)}`,
        );
        return;
      case 'service.already-healthy':
        line(event.time, `${who(event.service)}  ${c.green('already healthy')}, not started`);
        return;
      case 'service.verified':
        line(event.time, `${who(event.service)}  ${c.green('verified')}  ${verifiedWords(event.files)}`);
        return;
      case 'service.failed':
        line(event.time, `${who(event.service)}  ${c.red('FAILED')}  ${event.message}`);
        return;
      case 'service.blocked':
        line(event.time, `${who(event.service)}  ${c.yellow('blocked')}  by ${event.by}, not started`);
        return;
      case 'service.warning':
        line(event.time, `${who(event.service)}  ${c.yellow('warning')}  ${event.message}`);
        return;
      case 'service.skipped':
        if (event.why !== 'not-selected')
          line(event.time, `${who(event.service)}  ${c.yellow('skipped')}  (${event.why})`);
        return;
      case 'service.escaped':
        line(
          event.time,
          `${who(event.service)}  ${c.yellow('escaped')}  ${escapedWords(event.processes)}${event.stopped ? ', stopped' : ''}`,
        );
        return;
      case 'service.in-flight':
        line(event.time, `${who(event.service)}  ${c.yellow('in flight')}  ${inFlightWords(event)}`);
        return;
      case 'service.output':
        if (verbose)
          line(
            event.time,
            `${who(event.service)}  ${c.dim(event.stream === 'stderr' ? '!' : '|')} ${event.line}`,
          );
        return;
      case 'stage.finished':
        line(event.time, `stage ${event.stage} ${event.result}`);
        return;
      case 'run.interrupted':
        line(
          event.time,
          c.yellow(`interrupted by ${event.signal}: nothing new starts, in-flight commands are stopped`),
        );
        return;
      case 'notify.failed':
        line(event.time, c.yellow(notifyFailedWords(event)));
        return;
      case 'service.torn-down': {
        const paint = event.ok ? (event.action === 'left-alone' ? c.dim : c.yellow) : c.red;
        line(event.time, `${who(event.service)}  ${paint(tornDownWords(event))}`);
        return;
      }
      case 'drill.torn-down':
        line(
          event.time,
          event.failed.length > 0 ? c.red(teardownWords(event)) : c.bold(teardownWords(event)),
        );
        return;
      case 'run.finished':
      case 'run.output-lost':
        return;
      default:
        unreachable(event);
    }
  };
}

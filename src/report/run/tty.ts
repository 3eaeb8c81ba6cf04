import { createLogUpdate } from 'log-update';
import type { Listener, ServiceResult, Timed } from '../../run/events.js';
import { unreachable } from '../../util/unreachable.js';
import { type Colors, padVisible } from '../style.js';
import {
  escapedWords,
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

type Status = 'pending' | 'starting' | 'checking' | ServiceResult;

interface Row {
  name: string;
  status: Status;
  round: number;
  attempt: number;
  since: number;
  finished?: number;
  /** The duration the event reported (src/run/times.ts): the figure the summary shows too. */
  duration?: number;
}

interface StageView {
  name: string;
  services: string[];
  state: 'waiting' | 'running' | 'done';
  note: string;
}

export interface TtyRenderer {
  listener: Listener;
  /** Clears the live view (before a prompt). */
  pause(): void;
  resume(): void;
  /** Draws the last frame and leaves it on screen; `run.finished` does it too. */
  stop(): void;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * Live progress on a terminal (log-update redraws a region in place): per stage and per
 * service, pending, starting, checking with its round count, healthy, failed, blocked, and the
 * elapsed time. Failures and, with --verbose, service output are printed above the live region.
 */
export function createTtyRenderer(
  stream: NodeJS.WritableStream & { rows?: number; columns?: number },
  c: Colors,
  verbose: boolean,
): TtyRenderer {
  const draw = createLogUpdate(stream);
  const rows = new Map<string, Row>();
  const stages: StageView[] = [];
  let header = '';
  let started = Date.now();
  let frame = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const icon = (status: Status) => {
    switch (status) {
      case 'healthy':
      case 'already-healthy':
        return c.green('✓');
      case 'failed':
        return c.red('✗');
      case 'blocked':
      case 'skipped':
        return c.yellow('-');
      case 'rolled-back':
        return c.yellow('↺');
      case 'pending':
        return c.dim('·');
      default:
        return c.cyan(SPINNER[frame % SPINNER.length]!);
    }
  };
  const word = (row: Row) => {
    switch (row.status) {
      case 'checking':
        return `checking (round ${row.round})`;
      case 'starting':
        return row.attempt > 1 ? `starting (attempt ${row.attempt})` : 'starting';
      case 'already-healthy':
        return 'already healthy';
      case 'failed':
        return c.red('failed');
      default:
        return row.status;
    }
  };

  const render = () => {
    if (stopped) return;
    frame += 1;
    const now = Date.now();
    const width = Math.max(8, ...[...rows.keys()].map((name) => name.length));
    const lines = [header];
    const budget = Math.max(6, (stream.rows ?? 24) - 4 - stages.length);
    for (const stage of stages) {
      lines.push(`${c.bold(`stage ${stage.name}`)}${stage.note ? c.dim(`  ${stage.note}`) : ''}`);
      // Finished and waiting stages fold into their header; the running one shows every service.
      if (stage.state !== 'running') continue;
      const shown = stage.services.slice(0, budget);
      for (const name of shown) {
        const row = rows.get(name)!;
        const elapsed =
          row.status === 'pending' ? '' : formatElapsed(row.duration ?? (row.finished ?? now) - row.since);
        // Padded by the width shown: word() may be colored, and escape codes take no columns.
        lines.push(
          `  ${icon(row.status)} ${padVisible(name, width)}  ${padVisible(word(row), 20)} ${c.dim(elapsed)}`,
        );
      }
      if (stage.services.length > shown.length)
        lines.push(c.dim(`  ... and ${stage.services.length - shown.length} more`));
    }
    lines.push(c.dim(`elapsed ${formatElapsed(now - started)}`));
    draw(lines.join('\n'));
  };
  const above = (text: string) => {
    if (!stopped) draw.persist(text);
  };
  const set = (name: string, status: Status, time: number, patch: Partial<Row> = {}) => {
    const row = rows.get(name);
    if (!row) return;
    if (row.status === 'pending') row.since = time;
    Object.assign(row, { status, ...patch });
    if (status !== 'starting' && status !== 'checking') row.finished = time;
  };
  const stageOf = (name: string) => stages.find((s) => s.name === name);
  const summarize = (stage: StageView) => {
    const counts = new Map<string, number>();
    for (const name of stage.services) {
      const status = rows.get(name)!.status;
      counts.set(status, (counts.get(status) ?? 0) + 1);
    }
    return [...counts].map(([status, count]) => `${count} ${status}`).join(', ');
  };

  const listener: Listener = (event: Timed) => {
    switch (event.type) {
      case 'run.started':
      case 'run.resumed':
        started = event.time;
        header = `${c.bold(`restore ${event.type === 'run.started' ? (event.mode ?? 'apply') : 'apply'} ${event.plan}`)}  ${c.dim(`${event.type === 'run.resumed' ? 'resuming run' : 'run'} ${event.run}`)}`;
        for (const stage of event.stages) {
          stages.push({
            name: stage.name,
            services: stage.services,
            state: 'waiting',
            note: plural(stage.services.length, 'service'),
          });
          for (const name of stage.services)
            rows.set(name, { name, status: 'pending', round: 0, attempt: 0, since: event.time });
        }
        timer = setInterval(render, 100);
        timer.unref();
        break;
      case 'service.rolled-back':
        if (event.left_alone) {
          above(`${c.dim('-')} ${event.service}: left alone (${event.message})`);
          break;
        }
        set(event.service, 'rolled-back', event.time);
        above(`${event.ok ? c.yellow('↺') : c.red('✗')} ${event.service}: rolled back (${event.message})`);
        break;
      case 'stage.started': {
        const stage = stageOf(event.stage);
        if (stage) stage.state = 'running';
        break;
      }
      case 'stage.approved':
        above(
          `${c.green('✓')} stage ${event.stage} approved by ${event.approver} (${via(event.via)}${event.signature ? ', signed' : ''})${event.comment ? `: ${event.comment}` : ''}`,
        );
        break;
      case 'stage.waiting-approval': {
        const stage = stageOf(event.stage);
        if (stage) stage.note = c.yellow(`waiting for approvals (${event.approvals} of ${event.approvers})`);
        above(c.yellow(waitingWords(event)));
        break;
      }
      case 'run.awaiting-approval': {
        const stage = stageOf(event.stage);
        if (stage) stage.note = c.yellow('waiting for approval');
        break;
      }
      case 'service.starting':
        set(event.service, 'starting', event.time, { attempt: event.attempt });
        break;
      case 'service.attempt':
        if (!event.ok)
          above(
            `${c.red('✗')} ${event.service}: start attempt ${event.attempt} failed: ${event.record.message}`,
          );
        break;
      case 'service.probe':
        if (event.phase === 'verify') set(event.service, 'checking', event.time, { round: event.round });
        break;
      case 'service.healthy':
        set(event.service, 'healthy', event.time, { duration: event.duration_ms });
        break;
      case 'service.already-healthy':
      case 'service.blocked':
      case 'service.skipped':
        set(event.service, event.type.slice('service.'.length) as Status, event.time);
        break;
      case 'service.failed':
        set(event.service, 'failed', event.time, { duration: event.duration_ms });
        above(`${c.red('✗')} ${event.service}: ${event.message}`);
        break;
      case 'service.verified':
        above(`${c.green('✓')} ${event.service}: verified ${verifiedWords(event.files)}`);
        break;
      case 'service.escaped':
        above(
          `${c.yellow('!')} ${event.service}: ${escapedWords(event.processes)}${event.stopped ? ', stopped' : ''}`,
        );
        break;
      case 'service.warning':
        above(`${c.yellow('!')} ${event.service}: ${event.message}`);
        break;
      case 'service.in-flight':
        above(`${c.yellow('!')} ${event.service}: ${inFlightWords(event)}`);
        break;
      case 'service.output':
        if (verbose)
          above(`${c.dim(`${event.service} ${event.stream === 'stderr' ? '!' : '|'}`)} ${event.line}`);
        break;
      case 'stage.finished': {
        const stage = stageOf(event.stage);
        if (stage) {
          stage.state = 'done';
          stage.note = `${event.result}: ${summarize(stage)}`;
        }
        break;
      }
      case 'run.output-lost':
        break;
      case 'notify.failed':
        // Deliveries end after the run too (its short grace): under the last frame then.
        if (stopped) stream.write(`${c.yellow(`! ${notifyFailedWords(event)}`)}\n`);
        else above(c.yellow(`! ${notifyFailedWords(event)}`));
        break;
      case 'run.interrupted':
        above(c.yellow(`interrupted by ${event.signal}: nothing new starts, in-flight commands are stopped`));
        break;
      case 'service.torn-down': {
        // After run.finished: the live region is done, so these are plain lines under the summary.
        const mark = event.ok ? (event.action === 'left-alone' ? c.dim('-') : c.yellow('↓')) : c.red('✗');
        stream.write(`${mark} ${event.service}: ${tornDownWords(event)}\n`);
        return;
      }
      case 'drill.torn-down':
        stream.write(
          `${event.failed.length > 0 ? c.red(teardownWords(event)) : c.bold(teardownWords(event))}\n`,
        );
        return;
      case 'run.finished':
        for (const stage of stages)
          if (stage.state === 'waiting' && !stage.note.includes('approval')) stage.note += ', not started';
        break;
      default:
        unreachable(event);
    }
    // The run is over: its last frame stays on screen, and what follows (the summary) goes under it.
    if (event.type === 'run.finished') stop();
    else render();
  };

  function stop(): void {
    if (stopped) return;
    if (timer) clearInterval(timer);
    render();
    stopped = true;
    draw.done();
  }

  return {
    listener,
    pause() {
      if (timer) clearInterval(timer);
      timer = undefined;
      draw.clear();
    },
    resume() {
      if (stopped || timer) return;
      timer = setInterval(render, 100);
      timer.unref();
      render();
    },
    stop,
  };
}

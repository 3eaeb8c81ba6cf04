import type { LogFormat } from '../../cli/format-names.js';
import type { Listener } from '../../run/events.js';
import { type Colors, colorsFor, liveViewFits } from '../style.js';
import { jsonLinesRenderer } from './json-lines.js';
import { plainRenderer } from './plain.js';
import { summaryListener } from './summary.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Where a run view writes: stdout, with what a terminal tells about itself. */
export interface ViewOutput {
  write(text: string): void;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
}

/** A way of showing a run: its subscriber, and for a live view the means to clear it for a prompt. */
export interface RunView {
  listener: Listener;
  /** Clears the live region (before a prompt); absent for views that only append lines. */
  pause?(): void;
  resume?(): void;
  /** Ends the live region, leaving its last frame; safe to call twice. */
  stop?(): void;
}

/** What a view is made from. */
export interface ViewContext {
  stdout: ViewOutput;
  colors: Colors;
  verbose: boolean;
}

/** One entry of the registry: a view, when it is the one to use, and how to make it. */
export interface RunViewEntry {
  name: string;
  applies(format: LogFormat, stdout: ViewOutput, env: Env): boolean;
  /** Whether the summary table follows it on stdout (never in JSON mode: stdout is JSON lines only). */
  summary: boolean;
  create(context: ViewContext): RunView | Promise<RunView>;
}

/**
 * `apply --log-format`: the views of a run, first match wins. A new view is one file and one
 * entry here; the engine and the CLI stay as they are.
 */
export const RUN_VIEWS: readonly RunViewEntry[] = [
  {
    name: 'json-lines',
    applies: (format) => format === 'json',
    summary: false,
    create: ({ stdout, verbose }) => ({ listener: jsonLinesRenderer((text) => stdout.write(text), verbose) }),
  },
  {
    name: 'tty',
    applies: (format, stdout, env) => format === 'pretty' && liveViewFits(stdout, env),
    summary: true,
    // log-update and its dependencies load only for a terminal.
    create: async ({ stdout, colors, verbose }) =>
      (await import('./tty.js')).createTtyRenderer(stdout as NodeJS.WriteStream, colors, verbose),
  },
  {
    name: 'plain',
    applies: (format) => format === 'pretty',
    summary: true,
    create: ({ stdout, colors, verbose }) => ({
      listener: plainRenderer((text) => stdout.write(text), colors, verbose),
    }),
  },
];

/** The entry for this format and output (SPEC section 3: the live view on a terminal that fits it). */
export function chooseRunView(format: LogFormat, stdout: ViewOutput, env: Env): RunViewEntry {
  const entry = RUN_VIEWS.find((view) => view.applies(format, stdout, env));
  // Every format has a view that applies whatever the output: a missing one is a bug here.
  if (!entry) throw new Error(`no run view for --log-format ${format}`);
  return entry;
}

/**
 * The view of a run on stdout and, after it, the summary (a subscriber of `run.finished` like any
 * other). `order`: the plan's services in stage order, the summary's rows.
 */
export async function createRunView(
  format: LogFormat,
  options: { stdout: ViewOutput; env: Env; verbose: boolean; order: readonly string[] },
): Promise<RunView & { listeners: Listener[] }> {
  const { stdout, env, verbose, order } = options;
  const entry = chooseRunView(format, stdout, env);
  const colors = colorsFor(stdout, env);
  const view = await entry.create({ stdout, colors, verbose });
  const listeners = [view.listener];
  if (entry.summary) listeners.push(summaryListener((text) => stdout.write(text), order, colors));
  return { ...view, listeners };
}

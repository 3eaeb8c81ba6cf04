// The floor for a Node orchestrator that starts its commands with execa@9, as restore's design
// chose: the same DAG loop as spawn-dag.mjs, each command through execa with the cheapest options
// that keep what restore needs (its own process group, stdin closed, output read and not held).
// Usage: node execa-dag.mjs dag.json concurrency [variant]
// `variant` picks another set of options, to measure what each costs (docs/performance.md).
import { execa } from 'execa';
import { runDag } from './dag-loop.mjs';

/** What restore needs, at the least cost: measured against the variants below. */
const CHEAPEST = {
  buffer: false,
  cleanup: false,
  detached: true,
  stdin: 'ignore',
  forceKillAfterDelay: false,
  reject: false,
};

const VARIANTS = {
  cheapest: CHEAPEST,
  // execa's defaults, apart from the process group and stdin restore needs anyway.
  defaults: { detached: true, stdin: 'ignore' },
  'buffer-on': { ...CHEAPEST, buffer: true },
  'cleanup-on': { ...CHEAPEST, cleanup: true, detached: false },
  'no-group': { ...CHEAPEST, detached: false },
  'force-kill-on': { ...CHEAPEST, forceKillAfterDelay: true },
  'encoding-buffer': { ...CHEAPEST, encoding: 'buffer' },
};

const [file, limit, variant = 'cheapest'] = process.argv.slice(2);
const options = VARIANTS[variant];
if (!options) throw new Error(`unknown variant ${variant}: ${Object.keys(VARIANTS).join(', ')}`);
runDag(file, Number(limit ?? 4), (command, args, finished) => {
  const child = execa(command, args, options);
  // Read and dropped, as spawn-dag.mjs does: restore streams output to its log, it never keeps it.
  if (!options.buffer) {
    child.stdout.on('data', () => {});
    child.stderr.on('data', () => {});
  }
  child.then(
    (result) => finished(result.exitCode === 0),
    () => finished(false),
  );
});

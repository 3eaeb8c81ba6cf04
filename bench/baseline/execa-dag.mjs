// The floor for a Node orchestrator that starts its commands with execa@9, as restore's design
// chose: the same DAG loop as spawn-dag.mjs, each command through execa with the cheapest options
// that keep what restore needs (its own process group, stdin closed, output read and not held).
// Usage: node execa-dag.mjs dag.json concurrency [variant]
// `variant` picks another set of options, to measure what each costs (docs/performance.md).
import { readFileSync } from 'node:fs';
import { execa } from 'execa';

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
const dag = JSON.parse(readFileSync(file, 'utf8'));
const concurrency = Number(limit ?? 4);
const waiting = new Map(dag.map((node) => [node.name, node.deps.length]));
const dependents = new Map(dag.map((node) => [node.name, []]));
for (const node of dag) for (const dep of node.deps) dependents.get(dep).push(node.name);
const argv = new Map(dag.map((node) => [node.name, node.argv]));
const ready = dag.filter((node) => node.deps.length === 0).map((node) => node.name);
let running = 0;
let done = 0;

function pump() {
  while (running < concurrency && ready.length > 0) {
    const name = ready.shift();
    running += 1;
    const [command, ...args] = argv.get(name);
    const child = execa(command, args, options);
    // Read and dropped, as spawn-dag.mjs does: restore streams output to its log, it never keeps it.
    if (!options.buffer) {
      child.stdout.on('data', () => {});
      child.stderr.on('data', () => {});
    }
    child.then(
      (result) => {
        if (result.exitCode !== 0) process.exit(1);
        running -= 1;
        done += 1;
        for (const next of dependents.get(name)) {
          const left = waiting.get(next) - 1;
          waiting.set(next, left);
          if (left === 0) ready.push(next);
        }
        if (done === dag.length) process.exit(0);
        pump();
      },
      () => process.exit(1),
    );
  }
}
pump();

// The floor for a Node orchestrator: runs the commands of a DAG in dependency order with bare
// child_process.spawn, at most N at once, output piped and read. No validation, no logging.
// Usage: node spawn-dag.mjs dag.json concurrency
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

const [file, limit] = process.argv.slice(2);
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
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', () => {});
    child.stderr.on('data', () => {});
    child.on('close', (code) => {
      if (code !== 0) process.exit(1);
      running -= 1;
      done += 1;
      for (const next of dependents.get(name)) {
        const left = waiting.get(next) - 1;
        waiting.set(next, left);
        if (left === 0) ready.push(next);
      }
      if (done === dag.length) process.exit(0);
      pump();
    });
  }
}
pump();

// The floor for restoring a DAG of daemons: a plain Node loop that starts each daemon the moment
// its dependencies answer on their ports, and polls each started daemon's port every 10 ms. It
// starts the same commands as restore (each in its own process group), so it pays the same
// process start-up costs; it has no plan, no checks beyond a TCP connect, no journal, no log.
// Usage: node orchestrator.mjs dag.json
//   dag.json: [{ name, deps: [name...], argv: [command, ...args], port }]
// Prints the makespan in ms (first start to last port answering), then stops every daemon.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';

const POLL_MS = 10;
const dag = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const waiting = new Map(dag.map((node) => [node.name, node.deps.length]));
const dependents = new Map(dag.map((node) => [node.name, []]));
for (const node of dag) for (const dep of node.deps) dependents.get(dep).push(node.name);
const byName = new Map(dag.map((node) => [node.name, node]));
const children = [];
let up = 0;
const started = performance.now();

function answers(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function bringUp(name) {
  const { argv, port } = byName.get(name);
  const child = spawn(argv[0], argv.slice(1), { stdio: 'ignore', detached: true });
  children.push(child);
  while (!(await answers(port))) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  up += 1;
  if (up === dag.length) return finish();
  for (const next of dependents.get(name)) {
    const left = waiting.get(next) - 1;
    waiting.set(next, left);
    if (left === 0) void bringUp(next);
  }
}

function finish() {
  process.stdout.write(`${(performance.now() - started).toFixed(1)}\n`);
  for (const child of children) {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  process.exit(0);
}

for (const node of dag) if (node.deps.length === 0) void bringUp(node.name);

// The floor for a Node orchestrator: runs the commands of a DAG in dependency order with bare
// child_process.spawn, at most N at once, output piped and read. No validation, no logging.
// Usage: node spawn-dag.mjs dag.json concurrency
import { spawn } from 'node:child_process';
import { runDag } from './dag-loop.mjs';

const [file, limit] = process.argv.slice(2);
runDag(file, Number(limit ?? 4), (command, args, finished) => {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', () => {});
  child.stderr.on('data', () => {});
  child.on('close', (code) => finished(code === 0));
});

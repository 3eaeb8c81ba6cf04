// The DAG loop both floors share (spawn-dag.mjs, execa-dag.mjs), so that they differ only in how
// a command is started: the commands of a DAG in dependency order, at most `concurrency` at once.
// `start(command, args, finished)` starts one and calls `finished(ok)` once it has ended.
// Exits 0 when every command succeeded, 1 at the first that did not.
import { readFileSync } from 'node:fs';

export function runDag(file, concurrency, start) {
  const dag = JSON.parse(readFileSync(file, 'utf8'));
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
      start(command, args, (ok) => {
        if (!ok) process.exit(1);
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
}

// `npm run demo`: one outage of the demo shop, restored as an SRE would, in under a minute, no root.
//   0. restore check plans/demo.yaml                  the read-only preflight: programs, working
//                                                     directories, state dir and lock; runs nothing
//   1. restore apply plans/demo.yaml                  stops before stage "data": it needs an approval
//   2. restore apply plans/demo.yaml --resume --approve data
//                                                     the data stores come back; the API fails (its
//                                                     storage came back without the schema), so the
//                                                     web front end that depends on it is blocked
//   3. node plans/demo/migrate.mjs                    the fix: put the schema back
//   4. restore apply plans/demo.yaml --resume         the same run finishes; the data stores are
//                                                     re-verified, not restarted
//   5. use the shop once, restore report, restore down (stop everything again)
import { spawnSync } from 'node:child_process';

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const bold = (text) => (color ? `\u001b[1m${text}\u001b[0m` : text);

const run = (command, args) => spawnSync(process.execPath, [command, ...args], { stdio: 'inherit' }).status;
const restore = (...args) => run('bin/restore.js', args);
const step = (title, why) => process.stdout.write(`\n${bold(`== ${title}`)}\n${why ? `   ${why}\n` : ''}\n`);

step(
  'restore check plans/demo.yaml',
  'Before anything starts: is everything apply needs there? Read-only; it runs no service command.',
);
restore('check', 'plans/demo.yaml');
step(
  'restore apply plans/demo.yaml',
  'Stage "data" needs an approval; without a terminal to ask on, the run stops (exit 4).',
);
restore('apply', 'plans/demo.yaml');
step(
  'restore apply plans/demo.yaml --resume --approve data',
  'Approved: the data stores come back, then the API fails, and the web front end that needs it is blocked (exit 3).',
);
restore('apply', 'plans/demo.yaml', '--resume', '--approve', 'data');
step('node plans/demo/migrate.mjs', 'The fix: storage came back without the schema the API needs.');
run('plans/demo/migrate.mjs', []);
step(
  'restore apply plans/demo.yaml --resume',
  'The same run goes on: healthy services are re-verified, not restarted.',
);
const finished = restore('apply', 'plans/demo.yaml', '--resume');
step('the restored shop, used once');
run('plans/demo/show.mjs', []);
step('restore report plans/demo.yaml');
restore('report', 'plans/demo.yaml');
step('restore down plans/demo.yaml --yes');
restore('down', 'plans/demo.yaml', '--yes');
process.exitCode = finished ?? 1;

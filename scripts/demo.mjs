// `npm run demo`: restore the demo shop as an SRE would, then clean up.
//   1. restore apply plans/demo.yaml --yes   (stage "data" needs an approval: --yes gives it)
//   2. use the shop once                     (plans/demo/show.mjs)
//   3. restore report plans/demo.yaml        (the run's report, as markdown)
//   4. restore down plans/demo.yaml --yes    (stop everything again)
import { spawnSync } from 'node:child_process';

const restore = (...args) => spawnSync(process.execPath, ['bin/restore.js', ...args], { stdio: 'inherit' });
const step = (title) => process.stdout.write(`\n\u001b[1m== ${title}\u001b[0m\n\n`);

step('restore apply plans/demo.yaml --yes');
const applied = restore('apply', 'plans/demo.yaml', '--yes');
step('the restored shop, used once');
spawnSync(process.execPath, ['plans/demo/show.mjs'], { stdio: 'inherit' });
step('restore report plans/demo.yaml');
restore('report', 'plans/demo.yaml');
step('restore down plans/demo.yaml --yes');
restore('down', 'plans/demo.yaml', '--yes');
process.exitCode = applied.status ?? 1;

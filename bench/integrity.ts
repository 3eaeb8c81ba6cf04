import { closeSync, ftruncateSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Invocation, nodeInvocation, stats, timeOnce } from './measure.js';
import type { BenchResult, Section } from './section.js';

/**
 * SPEC section 7: `verify:` hashes artifacts of any size in bounded memory. A 2 GiB file hashed by
 * LocalPlace.hashFile (a fresh node process per run, as built in dist/, through
 * bench/baseline/hash-file.mjs) against the system's `sha256sum` on the same file, interleaved.
 * The file is sparse: the figure is the read-and-hash path, not this machine's disk. Opt-in: about
 * a minute of hashing at the default seven runs.
 */

const SIZE_MIB = 2048;
/** Restore's hash may cost at most this much more than sha256sum's. */
const MAX_RATIO = 1.2;
const MAX_RSS_MIB = 100;

export const integrity: Section = {
  name: 'integrity',
  description: `verify: a ${SIZE_MIB / 1024} GiB file hashed by LocalPlace.hashFile against sha256sum; peak RSS`,
  optIn: true,
  run(context) {
    const file = join(context.tmpDir, 'artifact.bin');
    const fd = openSync(file, 'w');
    ftruncateSync(fd, SIZE_MIB * 1024 * 1024);
    closeSync(fd);
    const restore = nodeInvocation(
      context,
      'LocalPlace.hashFile',
      [join(context.root, 'bench', 'baseline', 'hash-file.mjs'), join(context.root, 'dist'), file],
      'integrity-restore.out',
    );
    const sha256sum: Invocation = {
      label: 'sha256sum',
      command: 'sha256sum',
      args: [file],
      cwd: context.root,
      stdoutFile: join(context.tmpDir, 'integrity-sha256sum.out'),
    };
    context.log(`integrity: 1 warm-up + ${context.runs} interleaved runs of each, ${SIZE_MIB} MiB`);
    timeOnce(restore);
    timeOnce(sha256sum);
    const ours = readFileSync(restore.stdoutFile, 'utf8').split(' ')[0];
    const theirs = readFileSync(sha256sum.stdoutFile, 'utf8').split(' ')[0];
    if (ours !== theirs) throw new Error(`hashFile said ${ours}, sha256sum ${theirs}`);
    const restoreMs: number[] = [];
    const sumMs: number[] = [];
    const rssMiB: number[] = [];
    for (let i = 0; i < context.runs; i += 1) {
      restoreMs.push(timeOnce(restore));
      rssMiB.push(Number(readFileSync(restore.stdoutFile, 'utf8').trim().split(' ')[1]) / 1024);
      sumMs.push(timeOnce(sha256sum));
    }
    const ratio = stats(restoreMs).median / stats(sumMs).median;
    const row = (name: string, unit: BenchResult['unit'], samples: number[]): BenchResult => ({
      section: integrity.name,
      name,
      unit,
      ...stats(samples),
      samples,
    });
    return [
      row(`LocalPlace.hashFile, ${SIZE_MIB} MiB (node start included)`, 'ms', restoreMs),
      row(`sha256sum, ${SIZE_MIB} MiB`, 'ms', sumMs),
      {
        section: integrity.name,
        name: 'hashFile time / sha256sum time',
        unit: 'ratio',
        median: ratio,
        target: { op: '<=', value: MAX_RATIO },
      },
      { ...row('hashFile process peak RSS', 'MiB', rssMiB), target: { op: '<', value: MAX_RSS_MIB } },
    ];
  },
};

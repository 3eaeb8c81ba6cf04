import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { interleave, stats } from './measure.js';
import type { BenchResult, Section } from './section.js';
import { startSshd } from './sshd.js';

/**
 * Connection reuse (SPEC section 6): apply of 50 one-shot services on one host over a real sshd
 * on 127.0.0.1, with restore's shared connection (ControlMaster) and with it turned off
 * (`ssh_options: { ControlMaster: no }`, a new SSH connection per command), interleaved.
 *
 * Twice: at the default concurrency (4), where on a small machine every process started on
 * either side competes for the same cores, and one service at a time (`--concurrency 1`), as a
 * chain of dependent services on one host runs, where each command waits for its connection.
 * The target applies to the first.
 */

const SERVICES = 50;
const MIN_SPEEDUP = 3;
/** Runs of the one-at-a-time pair: a run without reuse takes some 15 s. */
const SEQUENTIAL_RUNS = 3;

export const sshReuse: Section = {
  name: 'ssh-reuse',
  description: `apply of ${SERVICES} remote services over a real sshd, connection reuse on vs off`,
  async run(context) {
    const sshd = await startSshd();
    try {
      const planFor = (name: string, reuse: boolean) => {
        const services: Record<string, unknown> = {};
        for (let i = 0; i < SERVICES; i++) services[`svc-${i}`] = { host: 'box', start: 'true' };
        const host = sshd.host();
        if (!reuse) host.ssh_options = { ...(host.ssh_options as object), ControlMaster: 'no' };
        const file = join(context.tmpDir, `${name}.yaml`);
        writeFileSync(file, JSON.stringify({ version: 1, name, hosts: { box: host }, services }));
        return file;
      };
      const invocation = (label: string, file: string, ...extra: string[]) => ({
        label,
        command: context.node,
        args: [
          context.bin,
          'apply',
          file,
          '--yes',
          '--state-dir',
          join(context.tmpDir, 'ssh-state'),
          ...extra,
        ],
        cwd: context.root,
        stdoutFile: join(context.tmpDir, `${label}.out`),
      });
      const reuse = planFor('ssh-reuse', true);
      const noReuse = planFor('ssh-fresh', false);
      const pair = (how: string, runs: number, ...extra: string[]): BenchResult[] => {
        context.log(`ssh reuse, ${how}: 1 warm-up + ${runs} interleaved runs of each`);
        const [on, off] = interleave(
          [
            invocation(`reuse${extra.join('')}`, reuse, ...extra),
            invocation(`no-reuse${extra.join('')}`, noReuse, ...extra),
          ],
          runs,
        ) as [number[], number[]];
        const shared = { section: sshReuse.name, unit: 'ms' as const };
        const onResult = {
          ...shared,
          name: `apply of ${SERVICES} remote services, ${how}, reuse`,
          ...stats(on),
          samples: on,
        };
        const offResult = {
          ...shared,
          name: `apply of ${SERVICES} remote services, ${how}, ControlMaster=no`,
          ...stats(off),
          samples: off,
        };
        return [onResult, offResult];
      };
      const [on, off] = pair('concurrency 4', context.runs) as [BenchResult, BenchResult];
      const [onSeq, offSeq] = pair(
        'one at a time',
        Math.min(context.runs, SEQUENTIAL_RUNS),
        '--concurrency',
        '1',
      ) as [BenchResult, BenchResult];
      const ratio = (name: string, without: BenchResult, withReuse: BenchResult): BenchResult => ({
        section: sshReuse.name,
        name,
        unit: 'ratio',
        median: without.median / withReuse.median,
      });
      return [
        on,
        off,
        {
          ...ratio('concurrency 4: without reuse / with reuse', off, on),
          target: { op: '>=', value: MIN_SPEEDUP },
        },
        onSeq,
        offSeq,
        ratio('one at a time: without reuse / with reuse', offSeq, onSeq),
      ];
    } finally {
      await sshd.stop();
    }
  },
};

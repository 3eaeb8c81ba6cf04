import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { interleave, stats } from './measure.js';
import type { BenchResult, Section } from './section.js';
import { startSshd } from './sshd.js';

/**
 * Connection reuse (SPEC section 6): apply of 50 one-shot services on one host over a real sshd
 * on 127.0.0.1, with restore's shared connection (ControlMaster) and with it turned off
 * (`ssh_options: { ControlMaster: no }`, a new SSH connection per command), interleaved.
 */

const SERVICES = 50;
const MIN_SPEEDUP = 3;

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
      const invocation = (label: string, file: string) => ({
        label,
        command: context.node,
        args: [context.bin, 'apply', file, '--yes', '--state-dir', join(context.tmpDir, 'ssh-state')],
        cwd: context.root,
        stdoutFile: join(context.tmpDir, `${label}.out`),
      });
      const shared = invocation('reuse', planFor('ssh-reuse', true));
      const fresh = invocation('no-reuse', planFor('ssh-fresh', false));
      context.log(`ssh reuse: 1 warm-up + ${context.runs} interleaved runs of each`);
      const [sharedSamples, freshSamples] = interleave([shared, fresh], context.runs) as [number[], number[]];
      const on: BenchResult = {
        section: sshReuse.name,
        name: `apply of ${SERVICES} remote services, connection reuse`,
        unit: 'ms',
        ...stats(sharedSamples),
        samples: sharedSamples,
      };
      const off: BenchResult = {
        section: sshReuse.name,
        name: `apply of ${SERVICES} remote services, ControlMaster=no`,
        unit: 'ms',
        ...stats(freshSamples),
        samples: freshSamples,
      };
      const speedup: BenchResult = {
        section: sshReuse.name,
        name: 'without reuse / with reuse (ratio of medians)',
        unit: 'ratio',
        median: off.median / on.median,
        target: { op: '>=', value: MIN_SPEEDUP },
      };
      return [on, off, speedup];
    } finally {
      await sshd.stop();
    }
  },
};

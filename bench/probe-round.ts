import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { ResolvedCheck } from '../src/plan/model.js';
import { LocalPlace } from '../src/run/places/local.js';
import { directLauncher } from '../src/run/places/process/launch.js';
import { probeRound } from '../src/run/probes/round.js';
import { stats } from './measure.js';
import type { BenchResult, Section } from './section.js';

/**
 * Issue 15: a probe round of 100 services, each with one `tcp` check, against a bare Node loop
 * opening the same 100 sockets (connect, then destroy), interleaved, in this process. The 100
 * listeners run in a child process (bench/baseline/listeners.mjs), so that accepting is not
 * counted on either side. One sample is BATCHES rounds in a row: a single round of 100 loopback
 * connections takes a few milliseconds, too close to the timer's noise.
 */

const SERVICES = 100;
const BATCHES = 10;
/** A round of tcp checks may cost at most this much more than the bare loop. */
const MAX_RATIO = 1.2;
/** Samples per side: more than the default runs, each one being short. */
const MIN_SAMPLES = 21;

export const probeRoundBench: Section = {
  name: 'probe-round',
  description: `a probe round of ${SERVICES} services with one tcp check each, against a bare loop of ${SERVICES} sockets`,
  async run(context) {
    const listeners = await startListeners(
      join(context.root, 'bench', 'baseline', 'listeners.mjs'),
      context.node,
    );
    try {
      const ports = listeners.ports;
      const place = new LocalPlace({ planDir: context.tmpDir, secrets: [], launcher: directLauncher });
      const services: ResolvedCheck[][] = ports.map((port) => [{ kind: 'tcp', host: '127.0.0.1', port }]);
      const options = { timeoutMs: 2000, place };
      const restoreRound = async () => {
        const rounds = await Promise.all(services.map((checks) => probeRound(checks, options)));
        if (!rounds.every((round) => round.ok)) throw new Error('a tcp check failed against a listener');
      };
      const bareLoop = () => Promise.all(ports.map(openAndClose));
      const time = async (work: () => Promise<unknown>) => {
        const started = process.hrtime.bigint();
        for (let i = 0; i < BATCHES; i += 1) await work();
        return Number(process.hrtime.bigint() - started) / 1e6 / BATCHES;
      };
      const samples = Math.max(MIN_SAMPLES, context.runs);
      context.log(`probe-round: warm-up, then ${samples} interleaved samples of ${BATCHES} rounds each`);
      await time(restoreRound);
      await time(bareLoop);
      const ours: number[] = [];
      const bare: number[] = [];
      for (let i = 0; i < samples; i += 1) {
        // Alternate which goes first, so that neither always inherits the other's TIME_WAIT sockets.
        if (i % 2 === 0) {
          ours.push(await time(restoreRound));
          bare.push(await time(bareLoop));
        } else {
          bare.push(await time(bareLoop));
          ours.push(await time(restoreRound));
        }
      }
      const row = (name: string, values: number[]): BenchResult => ({
        section: probeRoundBench.name,
        name,
        unit: 'ms',
        ...stats(values),
        samples: values,
      });
      return [
        row(`probeRound x ${SERVICES} services, one tcp check each`, ours),
        row(`bare loop: ${SERVICES} net.connect + destroy (baseline)`, bare),
        {
          section: probeRoundBench.name,
          name: 'probe round time / bare loop time',
          unit: 'ratio',
          median: stats(ours).median / stats(bare).median,
          target: { op: '<=', value: MAX_RATIO },
        },
      ];
    } finally {
      await listeners.stop();
    }
  },
};

/** The floor: a socket opened to 127.0.0.1:port, destroyed once connected. */
function openAndClose(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}

async function startListeners(
  script: string,
  node: string,
): Promise<{ ports: number[]; stop: () => Promise<void> }> {
  const child: ChildProcess = spawn(node, [script, String(SERVICES)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ports = await new Promise<number[]>((resolve, reject) => {
    let text = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('\n')) resolve(JSON.parse(text) as number[]);
    });
    child.once('exit', () => reject(new Error('the listeners exited before listening')));
  });
  return {
    ports,
    stop: async () => {
      child.stdin!.end();
      await exited;
    },
  };
}

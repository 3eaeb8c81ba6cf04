import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { portOpen, runWatched, waitForPort } from './processes.js';
import type { BenchContext, BenchResult, Section } from './section.js';

/**
 * How close `apply` gets to what the services themselves allow:
 * - makespan: a DAG of 30 daemons whose ports open after known delays (200-600 ms), with
 *   `interval: 50ms`, against a bare orchestrator (bench/baseline/orchestrator.mjs: a plain Node
 *   loop that starts each daemon once its dependencies answer, polling ports every 10 ms), in one
 *   declared stage and as computed waves; and against its critical path (the longest dependency
 *   chain of each service's own start-to-listening time, each measured alone);
 * - detection: how long after a port opens the service is reported healthy, with a fixed 500 ms
 *   interval (target: interval + 50 ms);
 * - backoff: a chain of three services, each ready ~250 ms after start, with no timing configured
 *   at all (target: under 3 s, where a fixed 2 s interval would take over 6 s).
 */

const LAYERS = 6;
const WIDTH = 5;
const MAX_MAKESPAN_RATIO = 1.15;
const MAX_BARE_RATIO = 1.15;
const DETECTION_INTERVAL_MS = 500;

interface Node {
  name: string;
  deps: string[];
  delayMs: number;
  port: number;
}

export const applyTiming: Section = {
  name: 'apply-timing',
  description: 'makespan of 30 delayed daemons vs their critical path; health detection latency; backoff',
  async run(context) {
    const fixture = join(context.root, 'test', 'fixtures', 'service.mjs');
    const listener = join(context.root, 'bench', 'baseline', 'delayed-listener.pl');
    const orchestrator = join(context.root, 'bench', 'baseline', 'orchestrator.mjs');
    return [
      ...(await makespan(context, listener, orchestrator)),
      ...(await detection(context, fixture)),
      ...(await backoffChain(context, listener)),
    ];
  },
};

async function makespan(
  context: BenchContext,
  listener: string,
  orchestrator: string,
): Promise<BenchResult[]> {
  const ratios: number[] = [];
  const paths: number[] = [];
  const spans: number[] = [];
  const waveRatios: number[] = [];
  const bares: number[] = [];
  const bareRatios: number[] = [];
  const waveBareRatios: number[] = [];
  const runs = Math.min(context.runs, 3);
  for (let run = 0; run < runs; run += 1) {
    const nodes = await dagOfDelays(run + 1);
    context.log(`makespan run ${run + 1}/${runs}: measuring each of ${nodes.length} services alone`);
    const own = new Map<string, number>();
    for (const node of nodes) own.set(node.name, await startToListening(listener, node));
    const path = criticalPath(nodes, own);
    const bare = await bareMakespan(context, orchestrator, listener, nodes, run);
    const plan = join(context.tmpDir, `makespan-${run}.yaml`);
    writeFileSync(plan, planOf(listener, nodes, { interval: '50ms' }));
    const state = join(context.tmpDir, `makespan-${run}-state`);
    const span = await restorationTime(context, plan, state, ['--concurrency', String(nodes.length)]);
    await stopAll(context, plan, state);
    // The same DAG without `stages:`: computed waves, which are groups for reading, not barriers.
    const waves = join(context.tmpDir, `makespan-${run}-waves.yaml`);
    writeFileSync(waves, planOf(listener, nodes, { interval: '50ms' }, false));
    const wavesState = join(context.tmpDir, `makespan-${run}-waves-state`);
    const waveSpan = await restorationTime(context, waves, wavesState, [
      '--concurrency',
      String(nodes.length),
    ]);
    await stopAll(context, waves, wavesState);
    paths.push(path);
    spans.push(span);
    bares.push(bare);
    ratios.push(span / path);
    waveRatios.push(waveSpan / path);
    bareRatios.push(span / bare);
    waveBareRatios.push(waveSpan / bare);
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const spread = (name: string, xs: number[], unit: 'ms' | 'ratio', max?: number): BenchResult => ({
    section: applyTiming.name,
    name,
    unit,
    median: med(xs),
    min: Math.min(...xs),
    max: Math.max(...xs),
    samples: xs,
    ...(max === undefined ? {} : { target: { op: '<=' as const, value: max } }),
  });
  return [
    spread('bare orchestrator, same DAG (10 ms port polling)', bares, 'ms'),
    spread('makespan / bare orchestrator, one declared stage', bareRatios, 'ratio', MAX_BARE_RATIO),
    spread('makespan / bare orchestrator, computed waves', waveBareRatios, 'ratio', MAX_BARE_RATIO),
    {
      section: applyTiming.name,
      name: 'critical path of 30 daemons (own start-to-listening)',
      unit: 'ms',
      median: med(paths),
      min: Math.min(...paths),
      max: Math.max(...paths),
      samples: paths,
    },
    {
      section: applyTiming.name,
      name: 'restoration time of the same DAG (interval 50ms)',
      unit: 'ms',
      median: med(spans),
      min: Math.min(...spans),
      max: Math.max(...spans),
      samples: spans,
    },
    {
      section: applyTiming.name,
      name: 'makespan / critical path',
      unit: 'ratio',
      median: med(ratios),
      min: Math.min(...ratios),
      max: Math.max(...ratios),
      samples: ratios,
      target: { op: '<=', value: MAX_MAKESPAN_RATIO },
    },
    {
      section: applyTiming.name,
      name: 'the same without stages: (computed waves) / critical path',
      unit: 'ratio',
      median: med(waveRatios),
      min: Math.min(...waveRatios),
      max: Math.max(...waveRatios),
      samples: waveRatios,
      target: { op: '<=', value: MAX_MAKESPAN_RATIO },
    },
  ];
}

async function detection(context: BenchContext, fixture: string): Promise<BenchResult[]> {
  const latencies: number[] = [];
  const runs = Math.max(3, context.runs);
  for (let run = 0; run < runs; run += 1) {
    const [port] = await freePorts(1);
    const record = join(context.tmpDir, `detect-${run}.txt`);
    // Spread the opening time over the polling period so that the worst case shows.
    const delay = 300 + Math.round((run / runs) * DETECTION_INTERVAL_MS);
    const plan = join(context.tmpDir, `detect-${run}.yaml`);
    writeFileSync(
      plan,
      JSON.stringify({
        version: 1,
        name: 'detect',
        services: {
          svc: {
            start: {
              run: [
                context.node,
                fixture,
                '--record',
                record,
                '--name',
                'svc',
                '--delay',
                String(delay),
                '--listen',
                String(port),
              ],
              daemon: true,
            },
            health: {
              checks: [{ tcp: { port } }],
              interval: `${DETECTION_INTERVAL_MS}ms`,
              start_interval: `${DETECTION_INTERVAL_MS}ms`,
            },
          },
        },
      }),
    );
    const state = join(context.tmpDir, `detect-${run}-state`);
    const watched = await runWatched(
      context.node,
      [context.bin, 'apply', plan, '--state-dir', state, '--log-format', 'json'],
      context.tmpDir,
    );
    const healthy = events(watched.stdout).find((e) => e.event === 'service.healthy');
    const listening = readFileSync(record, 'utf8')
      .split('\n')
      .find((line) => line.includes(' listening '));
    await stopAll(context, plan, state);
    if (!healthy || !listening) throw new Error('detection: the service did not become healthy');
    latencies.push(healthy.time - Number(listening.split(' ')[2]));
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  return [
    {
      section: applyTiming.name,
      name: `healthy after port opens (interval ${DETECTION_INTERVAL_MS}ms), worst of ${runs}`,
      unit: 'ms',
      median: sorted.at(-1)!,
      min: sorted[0]!,
      max: sorted.at(-1)!,
      samples: latencies,
      target: { op: '<', value: DETECTION_INTERVAL_MS + 50 },
    },
  ];
}

async function backoffChain(context: BenchContext, listener: string): Promise<BenchResult[]> {
  const times: number[] = [];
  const runs = Math.min(context.runs, 5);
  for (let run = 0; run < runs; run += 1) {
    const ports = await freePorts(3);
    const nodes: Node[] = ports.map((port, i) => ({
      name: `link-${i}`,
      deps: i === 0 ? [] : [`link-${i - 1}`],
      delayMs: 150,
      port,
    }));
    const plan = join(context.tmpDir, `chain-${run}.yaml`);
    // No timing at all: the built-in start_interval backoff is what is measured.
    writeFileSync(plan, planOf(listener, nodes, {}));
    const state = join(context.tmpDir, `chain-${run}-state`);
    times.push(await restorationTime(context, plan, state, []));
    await stopAll(context, plan, state);
  }
  const sorted = [...times].sort((a, b) => a - b);
  return [
    {
      section: applyTiming.name,
      name: 'chain of 3 services ready ~250ms after start, default timing',
      unit: 'ms',
      median: sorted[Math.floor(sorted.length / 2)]!,
      min: sorted[0]!,
      max: sorted.at(-1)!,
      samples: times,
      target: { op: '<', value: 3000 },
    },
  ];
}

/** A DAG of LAYERS x WIDTH services, 1-2 dependencies each on the layer before, delays 200-600 ms. */
async function dagOfDelays(seed: number): Promise<Node[]> {
  let state = seed * 7919;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const ports = await freePorts(LAYERS * WIDTH);
  const nodes: Node[] = [];
  for (let layer = 0; layer < LAYERS; layer += 1) {
    for (let i = 0; i < WIDTH; i += 1) {
      const deps =
        layer === 0
          ? []
          : [
              ...new Set(
                Array.from(
                  { length: 1 + Math.floor(random() * 2) },
                  () => `s${layer - 1}-${Math.floor(random() * WIDTH)}`,
                ),
              ),
            ];
      nodes.push({
        name: `s${layer}-${i}`,
        deps,
        delayMs: 200 + Math.round(random() * 400),
        port: ports[layer * WIDTH + i]!,
      });
    }
  }
  return nodes;
}

/**
 * The DAG as a plan: in one declared stage (inside a stage a service starts the moment its own
 * dependencies are healthy), or without `stages:`, as computed `wave-k` stages, which are not
 * barriers either and must schedule the same way.
 */
function planOf(listener: string, nodes: Node[], timing: Record<string, string>, declared = true): string {
  const services = Object.fromEntries(
    nodes.map((node) => [
      node.name,
      {
        ...(declared ? { stage: 'all' } : {}),
        ...(node.deps.length > 0 ? { depends_on: node.deps } : {}),
        start: { run: ['perl', listener, String(node.delayMs), String(node.port)], daemon: true },
        health: { checks: [{ tcp: { port: node.port } }], ...timing },
      },
    ]),
  );
  return JSON.stringify({
    version: 1,
    name: 'timing',
    ...(declared ? { stages: [{ name: 'all' }] } : {}),
    services,
  });
}

/**
 * The makespan of the bare orchestrator on the same DAG and daemons, as it reports it (first
 * start to last port answering, Node's own start-up left out as restore's `duration_ms` leaves it
 * out). Its daemons are gone, and their ports closed, before it returns.
 */
async function bareMakespan(
  context: BenchContext,
  orchestrator: string,
  listener: string,
  nodes: Node[],
  run: number,
): Promise<number> {
  const dag = join(context.tmpDir, `makespan-${run}-bare.json`);
  writeFileSync(
    dag,
    JSON.stringify(
      nodes.map((node) => ({
        name: node.name,
        deps: node.deps,
        argv: ['perl', listener, String(node.delayMs), String(node.port)],
        port: node.port,
      })),
    ),
  );
  const watched = await runWatched(context.node, [orchestrator, dag], context.tmpDir);
  const span = Number(watched.stdout.trim());
  if (watched.code !== 0 || !Number.isFinite(span)) {
    throw new Error(`bare orchestrator on ${dag} failed (exit ${watched.code})`);
  }
  await Promise.all(nodes.map((node) => waitForPortClosed(node.port)));
  return span;
}

/** Resolves once nothing accepts connections on the port (a stopped daemon has let go of it). */
async function waitForPortClosed(port: number, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (await portOpen(port)) {
    if (Date.now() > until)
      throw new Error(`port ${port} still answers ${timeoutMs} ms after its daemon was stopped`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A service's own start-to-listening time: spawn it alone and poll its port every 5 ms. */
async function startToListening(listener: string, node: Node): Promise<number> {
  const started = performance.now();
  const child = spawn('perl', [listener, String(node.delayMs), String(node.port)], { stdio: 'ignore' });
  try {
    await waitForPort(node.port, 5);
    return performance.now() - started;
  } finally {
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

function criticalPath(nodes: Node[], own: Map<string, number>): number {
  const finish = new Map<string, number>();
  for (const node of nodes) {
    const ready = Math.max(0, ...node.deps.map((dep) => finish.get(dep) ?? 0));
    finish.set(node.name, ready + own.get(node.name)!);
  }
  return Math.max(...finish.values());
}

/** Runs `apply` and returns the restoration time it reports (run started to run finished). */
async function restorationTime(
  context: BenchContext,
  plan: string,
  state: string,
  extra: string[],
): Promise<number> {
  const watched = await runWatched(
    context.node,
    [context.bin, 'apply', plan, '--state-dir', state, '--log-format', 'json', ...extra],
    context.tmpDir,
  );
  const finished = events(watched.stdout).find((e) => e.event === 'run.finished');
  if (watched.code !== 0 || !finished) throw new Error(`apply of ${plan} failed (exit ${watched.code})`);
  return finished.duration_ms!;
}

async function stopAll(context: BenchContext, plan: string, state: string): Promise<void> {
  await runWatched(context.node, [context.bin, 'down', plan, '--state-dir', state, '--yes'], context.tmpDir);
}

/** `--log-format json` lines: pino's, with `time` in epoch milliseconds. */
function events(stdout: string): { event: string; time: number; duration_ms?: number }[] {
  return stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { event: string; time: number; duration_ms?: number });
}

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve) => {
          const server = createServer();
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

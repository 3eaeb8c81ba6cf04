import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext, BenchResult, Section } from './section.js';

/**
 * Reliability figures for the README: restore is killed with SIGKILL at seeded random moments of
 * a run, then `apply --resume` must finish it, and no service may be started again after it was
 * healthy. Also the cost of one journal line (sealed, hashed and written before the step goes on).
 */

const SERVICES = 10;
const KILL_WINDOW_MS = 2500;

export const durability: Section = {
  name: 'durability',
  description: 'random kill -9 points survived by --resume; journal write cost per event',
  async run(context) {
    const fixture = join(context.root, 'test', 'fixtures', 'service.mjs');
    let survived = 0;
    let points = Number(process.env.KILL_POINTS ?? 50);
    let doubleStarts = 0;
    const failures: string[] = [];
    // KILL_SEEDS=2,18 replays given seeds only (to look into a failure).
    const seeds = process.env.KILL_SEEDS
      ? process.env.KILL_SEEDS.split(',').map(Number)
      : Array.from({ length: points }, (_, i) => i + 1);
    for (const seed of seeds) {
      const outcome = await killAndResume(context, fixture, seed);
      if (outcome.ok) survived += 1;
      else failures.push(`seed ${seed}: ${outcome.why}`);
      doubleStarts += outcome.doubleStarts;
      if (seed % 10 === 0) context.log(`kill points: ${seed}/${seeds.length} done, ${survived} survived`);
    }
    points = seeds.length;
    for (const failure of failures) context.log(`kill point failed: ${failure}`);
    const cost = journalCost(context);
    const count = (name: string, value: number, max?: number): BenchResult => ({
      section: durability.name,
      name,
      unit: 'count',
      median: value,
      ...(max === undefined ? {} : { target: { op: '<=' as const, value: max } }),
    });
    return [
      count('kill -9 points (seeded, at random moments of a run)', points),
      count('  survived: --resume finished the run, journal chain intact', survived),
      count('  not survived', points - survived, 0),
      count('services started again after they were healthy', doubleStarts, 0),
      {
        section: durability.name,
        name: 'journal write per event (seal, sha256, write)',
        unit: 'us',
        median: cost * 1000,
      },
    ];
  },
};

interface KillOutcome {
  ok: boolean;
  why: string;
  doubleStarts: number;
}

async function killAndResume(context: BenchContext, fixture: string, seed: number): Promise<KillOutcome> {
  const dir = mkdtempSync(join(context.tmpDir, `kill-${seed}-`));
  const record = join(dir, 'record.txt');
  // Below the ephemeral range (32768 and up on Linux): a port picked there can be taken at any
  // moment by some connection's local end, and the daemon would fail with EADDRINUSE.
  const base = 20000 + ((seed * 37) % 120) * 100;
  const services: Record<string, unknown> = {};
  for (let i = 0; i < SERVICES; i++) {
    const port = base + i;
    const deps = i < 3 ? [] : [`s${i - 3}`, ...(i % 2 === 0 && i >= 4 ? [`s${i - 4}`] : [])];
    const delay = 50 + ((seed * 13 + i * 71) % 250);
    services[`s${i}`] = {
      ...(deps.length > 0 ? { depends_on: deps } : {}),
      start: {
        run: [
          context.node,
          fixture,
          '--name',
          `s${i}`,
          '--record',
          record,
          '--delay',
          String(delay),
          '--listen',
          String(port),
        ],
        daemon: true,
      },
      health: { checks: [{ tcp: { port } }], interval: '100ms', start_interval: '50ms' },
    };
  }
  // One-shot services too: their start is a command that runs to completion.
  services.migrate = {
    depends_on: ['s0'],
    start: { run: `echo "migrate started $(date +%s%3N)" >> ${record}; sleep 0.2`, shell: true },
  };
  writeFileSync(join(dir, 'plan.yaml'), JSON.stringify({ version: 1, name: 'kill', services }));
  const apply = (args: string[]): ChildProcess =>
    spawn(context.node, [context.bin, 'apply', 'plan.yaml', '--state-dir', 'state', ...args], {
      cwd: dir,
      stdio: 'ignore',
    });

  const killAt = Math.floor(random(seed) * KILL_WINDOW_MS);
  const first = apply([]);
  await new Promise((resolve) => setTimeout(resolve, killAt));
  first.kill('SIGKILL');
  await new Promise((resolve) =>
    first.exitCode === null && first.signalCode === null ? first.once('exit', resolve) : resolve(null),
  );

  const resumed = spawnSync(
    context.node,
    [context.bin, 'apply', 'plan.yaml', '--state-dir', 'state', '--resume'],
    {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  const doubleStarts = startsAfterHealthy(record);
  const why = failedServices(dir);
  spawnSync(context.node, [context.bin, 'down', 'plan.yaml', '--state-dir', 'state', '--yes'], {
    cwd: dir,
    stdio: 'ignore',
  });
  const verified = spawnSync(context.node, [context.bin, 'audit', 'verify', ...journalsOf(dir)], {
    encoding: 'utf8',
  });
  rmSync(dir, { recursive: true, force: true });
  if (resumed.status !== 0)
    return {
      ok: false,
      why: `resume exited ${resumed.status} (killed at ${killAt} ms): ${why}`,
      doubleStarts,
    };
  if (verified.status !== 0)
    return { ok: false, why: `journal chain broken: ${verified.stdout.trim()}`, doubleStarts };
  if (doubleStarts > 0)
    return {
      ok: false,
      why: `${doubleStarts} service(s) started again after healthy (killed at ${killAt} ms)`,
      doubleStarts,
    };
  return { ok: true, why: '', doubleStarts };
}

/** The failures the latest journal records, in one line. */
function failedServices(dir: string): string {
  const file = journalsOf(dir)[0];
  if (!file) return 'no journal';
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { event: string; service?: string; message?: string })
    .filter((line) => line.event === 'service.failed')
    .map((line) => `${line.service}: ${line.message}`)
    .join('; ');
}

/** Services whose program started again after it was listening (healthy). */
function startsAfterHealthy(record: string): number {
  if (!existsSync(record)) return 0;
  const events = readFileSync(record, 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(' '))
    .map(([name, event, at]) => ({ name: name!, event: event!, at: Number(at) }));
  let count = 0;
  for (const name of new Set(events.map((e) => e.name))) {
    const listening = events.find((e) => e.name === name && e.event === 'listening');
    if (listening && events.some((e) => e.name === name && e.event === 'started' && e.at > listening.at))
      count += 1;
  }
  return count;
}

function journalsOf(dir: string): string[] {
  const runs = join(dir, 'state', 'kill', 'runs');
  if (!existsSync(runs)) return [];
  return spawnSync('sh', ['-c', `ls ${runs}/*.jsonl`], { encoding: 'utf8' })
    .stdout.trim()
    .split('\n')
    .filter(Boolean)
    .slice(-1);
}

/** Milliseconds per journal line, over 20,000 events written by the real journal writer. */
function journalCost(context: BenchContext): number {
  const script = `
    import { JournalWriter } from '${join(context.root, 'dist', 'src', 'run', 'journal', 'writer.js')}';
    import { Redactor } from '${join(context.root, 'dist', 'src', 'run', 'redact.js')}';
    const file = process.argv[1];
    const writer = JournalWriter.create(file, 'bench', new Redactor([]));
    const n = 20000;
    const started = performance.now();
    for (let i = 0; i < n; i++) {
      writer.listener({ type: 'service.probe', service: 'svc-' + (i % 50), stage: 'core', phase: 'verify', round: i, ok: i % 3 === 0, counted: true,
        checks: [{ kind: 'tcp', target: '127.0.0.1:5432', ok: false, detail: 'connection refused', durationMs: 1 }], time: Date.now() });
    }
    writer.close();
    console.log((performance.now() - started) / n);`;
  const dir = mkdtempSync(join(context.tmpDir, 'journal-'));
  const result = spawnSync(context.node, ['--input-type=module', '-e', script, join(dir, 'bench.jsonl')], {
    encoding: 'utf8',
  });
  rmSync(dir, { recursive: true, force: true });
  if (result.status !== 0) throw new Error(`journal cost: ${result.stderr}`);
  return Number(result.stdout.trim());
}

/** A seeded number in [0, 1). */
function random(seed: number): number {
  let t = (seed * 0x6d2b79f5) >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

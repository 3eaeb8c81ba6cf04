import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { portOpen } from './processes.js';
import type { BenchContext, BenchResult, Section } from './section.js';

/**
 * Reliability figures: restore is killed with SIGKILL at seeded random moments of a run, then
 * the same command is given again and must finish it. Four kinds of kill point, in turn: during
 * `apply`; during the `apply --resume` after such a kill; during `apply --on-failure rollback`
 * of a plan whose last service fails; during `down`. Counted: runs finished, journal chains
 * intact (`restore audit verify`), services started again after they were healthy (and not
 * stopped by restore in between), one-shots that overlapped a copy of themselves, locks left.
 * Also the cost of one journal line (sealed, hashed and written before the step goes on).
 */

const SERVICES = 10;
const KILL_WINDOW_MS = 2500;

export const durability: Section = {
  name: 'durability',
  description: 'random kill -9 points (apply, resume, rollback, down) survived; journal write cost per event',
  async run(context) {
    const fixture = join(context.root, 'test', 'fixtures', 'service.mjs');
    const points = Number(process.env.KILL_POINTS ?? 100);
    // KILL_SEEDS=2,18 replays given seeds only (to look into a failure).
    const seeds = process.env.KILL_SEEDS
      ? process.env.KILL_SEEDS.split(',').map(Number)
      : Array.from({ length: points }, (_, i) => i + 1);
    const outcomes: KillOutcome[] = [];
    for (const seed of seeds) {
      outcomes.push(
        await killPoint({ node: context.node, bin: context.bin, fixture, tmpDir: context.tmpDir }, seed),
      );
      if (seed % 10 === 0) {
        const ok = outcomes.filter((o) => o.problems.length === 0).length;
        context.log(`kill points: ${outcomes.length}/${seeds.length} done, ${ok} survived`);
      }
    }
    const totals = tally(outcomes);
    for (const outcome of outcomes) {
      if (outcome.problems.length > 0)
        context.log(
          `kill point failed: seed ${outcome.seed} (${outcome.phase}): ${outcome.problems.join('; ')}`,
        );
    }
    const cost = journalCost(context);
    const count = (name: string, value: number, max?: number): BenchResult => ({
      section: durability.name,
      name,
      unit: 'count',
      median: value,
      ...(max === undefined ? {} : { target: { op: '<=' as const, value: max } }),
    });
    return [
      count('kill -9 points (seeded: apply, resume, rollback, down in turn)', totals.points),
      count('  finished by the same command given again', totals.finished),
      count('  not finished', totals.points - totals.finished, 0),
      count('  journal chains broken (audit verify)', totals.brokenChains, 0),
      count('services started again after they were healthy', totals.doubleStarts, 0),
      count('one-shots overlapping a copy of themselves', totals.overlaps, 0),
      count('locks left behind', totals.locksLeft, 0),
      {
        section: durability.name,
        name: 'journal write per event (seal, sha256, write)',
        unit: 'us',
        median: cost * 1000,
      },
    ];
  },
};

export type KillPhase = 'apply' | 'resume' | 'rollback' | 'down';
const PHASES: KillPhase[] = ['apply', 'resume', 'rollback', 'down'];

export interface KillOutcome {
  seed: number;
  phase: KillPhase;
  /** The command given again after the kill exited as it should. */
  finished: boolean;
  chainIntact: boolean;
  doubleStarts: number;
  overlaps: number;
  lockLeft: boolean;
  /** Everything that went wrong, in words; empty when the kill point was survived. */
  problems: string[];
}

export interface KillTotals {
  points: number;
  finished: number;
  brokenChains: number;
  doubleStarts: number;
  overlaps: number;
  locksLeft: number;
}

export function tally(outcomes: readonly KillOutcome[]): KillTotals {
  return {
    points: outcomes.length,
    finished: outcomes.filter((o) => o.finished).length,
    brokenChains: outcomes.filter((o) => !o.chainIntact).length,
    doubleStarts: outcomes.reduce((sum, o) => sum + o.doubleStarts, 0),
    overlaps: outcomes.reduce((sum, o) => sum + o.overlaps, 0),
    locksLeft: outcomes.filter((o) => o.lockLeft).length,
  };
}

export interface KillEnv {
  node: string;
  bin: string;
  /** test/fixtures/service.mjs */
  fixture: string;
  tmpDir: string;
  /** Extra environment of every restore process (tests mark theirs). */
  env?: NodeJS.ProcessEnv;
}

/**
 * One seeded kill point; its phase is the seed's turn among PHASES. Leaves nothing running:
 * `down` stops what the plan started, and the plan's one-shot is waited for.
 */
export async function killPoint(
  env: KillEnv,
  seed: number,
  options: { services?: number; windowMs?: number } = {},
): Promise<KillOutcome> {
  const services = options.services ?? SERVICES;
  const windowMs = options.windowMs ?? KILL_WINDOW_MS;
  const phase = PHASES[(seed - 1) % PHASES.length]!;
  const dir = mkdtempSync(join(env.tmpDir, `kill-${seed}-`));
  const record = join(dir, 'record.txt');
  const ports = writePlan(dir, env, seed, services, record, phase === 'rollback');
  const childEnv = { ...process.env, ...env.env };
  const run = (args: string[]) =>
    spawnSync(env.node, [env.bin, ...args, '--state-dir', 'state'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 120_000,
      env: childEnv,
    });
  const killedDuring = async (args: string[], atMs: number) => {
    const child = spawn(env.node, [env.bin, ...args, '--state-dir', 'state'], {
      cwd: dir,
      stdio: 'ignore',
      env: childEnv,
    });
    await new Promise((resolve) => setTimeout(resolve, atMs));
    child.kill('SIGKILL');
    if (child.exitCode === null && child.signalCode === null)
      await new Promise((resolve) => child.once('exit', resolve));
  };
  const at = (n: number) => Math.floor(random(seed * 7 + n) * windowMs);
  const problems: string[] = [];

  let last: ReturnType<typeof run>;
  let expected = 0;
  switch (phase) {
    case 'apply':
      await killedDuring(['apply', 'plan.yaml'], at(1));
      last = run(['apply', 'plan.yaml', '--resume']);
      break;
    case 'resume':
      await killedDuring(['apply', 'plan.yaml'], at(1) / 2);
      await killedDuring(['apply', 'plan.yaml', '--resume'], at(2));
      last = run(['apply', 'plan.yaml', '--resume']);
      break;
    case 'rollback':
      await killedDuring(['apply', 'plan.yaml', '--on-failure', 'rollback'], at(1));
      last = run(['apply', 'plan.yaml', '--resume', '--on-failure', 'rollback']);
      expected = 3;
      break;
    case 'down': {
      const applied = run(['apply', 'plan.yaml']);
      if (applied.status !== 0) problems.push(`apply before down exited ${applied.status}`);
      await killedDuring(['down', 'plan.yaml', '--yes'], at(1) / 4);
      last = run(['down', 'plan.yaml', '--yes']);
      break;
    }
  }
  const finished = last.status === expected;
  if (!finished) problems.push(`the command given again exited ${last.status}: ${failedServices(dir)}`);
  if (phase === 'down') {
    const open = (await Promise.all(ports.map((port) => portOpen(port)))).filter(Boolean).length;
    if (open > 0) problems.push(`${open} service(s) still listening after down`);
  }
  // Every one-shot copy has ended before the plan's services are stopped and the files go.
  await waitForOneShots(record);
  const lockLeft = existsSync(join(dir, 'state', 'kill', 'lock'));
  if (lockLeft) problems.push('the lock was left behind');
  const journal = journalsOf(dir);
  const verified = journal
    ? spawnSync(env.node, [env.bin, 'audit', 'verify', journal], { encoding: 'utf8', env: childEnv })
    : undefined;
  const chainIntact = verified?.status === 0;
  if (!chainIntact) problems.push(`journal chain broken: ${verified?.stdout.trim() ?? 'no journal'}`);
  const doubleStarts = startsAfterHealthy(record, rolledBackTimes(journal));
  if (doubleStarts > 0) problems.push(`${doubleStarts} service(s) started again after healthy`);
  const overlaps = oneShotOverlaps(record);
  if (overlaps > 0) problems.push(`${overlaps} one-shot start(s) while a copy was running`);
  if (phase !== 'down') run(['down', 'plan.yaml', '--yes']);
  rmSync(dir, { recursive: true, force: true });
  return { seed, phase, finished, chainIntact, doubleStarts, overlaps, lockLeft, problems };
}

/** Writes the plan: daemons in a dependency lattice, a one-shot, and with `failing`, a last service that fails. */
function writePlan(
  dir: string,
  env: KillEnv,
  seed: number,
  count: number,
  record: string,
  failing: boolean,
): number[] {
  // Below the ephemeral range (32768 and up on Linux): a port picked there can be taken at any
  // moment by some connection's local end, and the daemon would fail with EADDRINUSE.
  const base = 20000 + ((seed * 37) % 120) * 100;
  const services: Record<string, unknown> = {};
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    const port = base + i;
    ports.push(port);
    const deps = i < 3 ? [] : [`s${i - 3}`, ...(i % 2 === 0 && i >= 4 ? [`s${i - 4}`] : [])];
    const delay = 50 + ((seed * 13 + i * 71) % 250);
    services[`s${i}`] = {
      ...(deps.length > 0 ? { depends_on: deps } : {}),
      start: {
        run: [
          env.node,
          env.fixture,
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
  // A one-shot: its start is a command that runs to completion. Start and end are recorded, so
  // that two copies running at once show.
  services.migrate = {
    depends_on: ['s0'],
    start: {
      run: `echo "migrate started $(date +%s%3N)" >> ${record}; sleep 0.3; echo "migrate ended $(date +%s%3N)" >> ${record}`,
      shell: true,
    },
  };
  if (failing) {
    services.broken = {
      depends_on: [`s${count - 1}`, 'migrate'],
      start: { run: 'sleep 0.2; echo "cannot" >&2; exit 1', shell: true },
    };
  }
  writeFileSync(join(dir, 'plan.yaml'), JSON.stringify({ version: 1, name: 'kill', services }));
  return ports;
}

/** The failures the latest journal records, in one line. */
function failedServices(dir: string): string {
  const file = journalsOf(dir);
  if (!file) return 'no journal';
  return readJournalLines(file)
    .filter((line) => line.event === 'service.failed')
    .map((line) => `${line.service}: ${line.message}`)
    .join('; ');
}

function readJournalLines(
  file: string,
): { event: string; service?: string; message?: string; time?: string }[] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as { event: string; service?: string; message?: string; time?: string }];
      } catch {
        return []; // a torn last line
      }
    });
}

/** When each service was rolled back (epoch ms), from the journal. */
function rolledBackTimes(journal: string | undefined): Map<string, number[]> {
  const times = new Map<string, number[]>();
  if (!journal) return times;
  for (const line of readJournalLines(journal)) {
    if (line.event !== 'service.rolled-back' || !line.service || !line.time) continue;
    times.set(line.service, [...(times.get(line.service) ?? []), Date.parse(line.time)]);
  }
  return times;
}

interface RecordLine {
  name: string;
  event: string;
  at: number;
}

function recordLines(record: string): RecordLine[] {
  if (!existsSync(record)) return [];
  return readFileSync(record, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' '))
    .map(([name, event, at]) => ({ name: name!, event: event!, at: Number(at) }));
}

/**
 * Services whose program started again after it was listening (healthy), without restore having
 * stopped it in between (a rollback, which a resumed rollback may start again).
 */
function startsAfterHealthy(record: string, rolledBack: Map<string, number[]>): number {
  const events = recordLines(record);
  let count = 0;
  for (const name of new Set(events.map((e) => e.name))) {
    const mine = events.filter((e) => e.name === name);
    let healthySince: number | undefined;
    for (const event of mine) {
      if (event.event === 'listening') healthySince ??= event.at;
      if (event.event !== 'started' || healthySince === undefined) continue;
      const stopped = (rolledBack.get(name) ?? []).some((at) => at >= healthySince! && at <= event.at);
      if (!stopped) {
        count += 1;
        break;
      }
      healthySince = undefined;
    }
  }
  return count;
}

/** One-shot starts while an earlier copy had not ended. */
function oneShotOverlaps(record: string): number {
  let running = 0;
  let overlaps = 0;
  for (const event of recordLines(record).filter((e) => e.name === 'migrate')) {
    if (event.event === 'started') {
      if (running > 0) overlaps += 1;
      running += 1;
    } else if (event.event === 'ended') running = Math.max(0, running - 1);
  }
  return overlaps;
}

/** Waits (at most 5 s) until every recorded one-shot start has its end. */
async function waitForOneShots(record: string): Promise<void> {
  const until = Date.now() + 5000;
  const open = () => {
    const lines = recordLines(record).filter((e) => e.name === 'migrate');
    return (
      lines.filter((e) => e.event === 'started').length > lines.filter((e) => e.event === 'ended').length
    );
  };
  while (open() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** The latest journal of the plan. */
function journalsOf(dir: string): string | undefined {
  const runs = join(dir, 'state', 'kill', 'runs');
  if (!existsSync(runs)) return undefined;
  const latest = readdirSync(runs)
    .filter((name) => name.endsWith('.jsonl'))
    .sort()
    .at(-1);
  return latest === undefined ? undefined : join(runs, latest);
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

import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { killPoint, tally } from '../../bench/durability.js';
import { EXIT } from '../../src/cli/exit-codes.js';
import { BIN, hasStackTrace, runCli, spawnCli } from '../helpers/cli.js';
import { daemon, events, FIXTURE, tcp, useWorkDirs } from '../helpers/e2e.js';
import { freePorts } from '../helpers/ports.js';
import { eventually, isAlive } from '../helpers/processes.js';
import { writeFile } from '../helpers/tmp.js';

const workDir = useWorkDirs();

function plan(dir: string, services: Record<string, unknown>, extra: Record<string, unknown> = {}): void {
  writeFile(dir, 'plan.yaml', JSON.stringify({ version: 1, name: 'durable', ...extra, services }, null, 2));
}

const cli = (dir: string, args: string[], env: Record<string, string> = {}) =>
  runCli([...args.slice(0, 2), ...args.slice(2), '--state-dir', 'state'], {
    cwd: dir,
    env,
    timeoutMs: 60_000,
  });
const apply = (dir: string, args: string[] = [], env: Record<string, string> = {}) =>
  cli(dir, ['apply', 'plan.yaml', ...args], env);

function journal(dir: string): { file: string; lines: Record<string, unknown>[] } {
  const runs = join(dir, 'state', 'durable', 'runs');
  const name = readdirSync(runs)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .at(-1)!;
  const file = join(runs, name);
  return {
    file,
    lines: readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

function starts(dir: string, name: string): number {
  const file = join(dir, 'record.txt');
  if (!existsSync(file)) return 0;
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith(`${name} started`)).length;
}

describe('SPEC 4 step 2: the plan lock', () => {
  it('a second apply of the same plan exits 5 at once, naming the holder', async () => {
    const dir = workDir();
    plan(dir, { slow: { start: 'sleep 30' } });
    const first = spawnCli(['apply', 'plan.yaml', '--state-dir', 'state'], { cwd: dir });
    await eventually(
      () => existsSync(join(dir, 'state', 'durable', 'lock')),
      'the first apply to take the lock',
      10_000,
    );
    const started = Date.now();
    const second = await apply(dir);
    expect(second.code).toBe(EXIT.locked);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(second.stderr).toMatch(new RegExp(`locked by another apply: pid ${first.child.pid} on `));
    first.child.kill('SIGINT');
    expect((await first.done).code).toBe(EXIT.sigint);
    expect(existsSync(join(dir, 'state', 'durable', 'lock'))).toBe(false);
  });

  it('of two applies racing, exactly one wins', async () => {
    const dir = workDir();
    plan(dir, { quick: { start: 'sleep 1' } });
    const results = await Promise.all([apply(dir), apply(dir), apply(dir)]);
    const codes = results.map((r) => r.code).sort();
    expect(codes.filter((c) => c === EXIT.ok)).toHaveLength(1);
    expect(codes.filter((c) => c === EXIT.locked)).toHaveLength(2);
  });

  it('a stale lock (its pid gone on this host) is taken over with a warning', async () => {
    const dir = workDir();
    plan(dir, { quick: { start: 'true' } });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'state', 'durable'), { recursive: true });
    const { hostname } = await import('node:os');
    writeFileSync(
      join(dir, 'state', 'durable', 'lock'),
      JSON.stringify({ pid: 999_999, host: hostname(), started_at: '2026-01-01T00:00:00.000Z' }),
    );
    const result = await apply(dir);
    expect(result.code).toBe(EXIT.ok);
    expect(result.stderr).toContain('took over a stale lock of pid 999999');
  });
});

describe('SPEC 5 the journal', () => {
  it('records every state change with the SPEC event names, hash-chained, and audit verify accepts it', async () => {
    const dir = workDir();
    plan(
      dir,
      {
        a: { stage: 'one', start: 'true' },
        b: { stage: 'two', depends_on: ['a'], start: 'false', critical: false },
        c: { stage: 'two', depends_on: ['b'], start: 'true' },
      },
      { stages: [{ name: 'one', approval: true }, { name: 'two' }] },
    );
    expect((await apply(dir, ['--yes', '--approver', 'carol'])).code).toBe(EXIT.failed);
    const { file, lines } = journal(dir);
    const kinds = lines.map((l) => l.event);
    for (const name of [
      'run.started',
      'stage.started',
      'stage.approved',
      'service.starting',
      'service.healthy',
      'service.failed',
      'service.blocked',
      'stage.finished',
      'run.finished',
    ]) {
      expect(kinds, name).toContain(name);
    }
    lines.forEach((line, i) => {
      expect(line).toMatchObject({ seq: i + 1, run: lines[0]!.run });
      expect(line.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(Number.isNaN(Date.parse(String(line.time)))).toBe(false);
    });
    expect(lines.find((l) => l.event === 'stage.approved')).toMatchObject({
      stage: 'one',
      approver: 'carol',
    });
    expect(lines.find((l) => l.event === 'service.failed')).toMatchObject({
      service: 'b',
      stage: 'two',
      reason: 'start-failed',
    });
    expect(lines.find((l) => l.event === 'service.blocked')).toMatchObject({ service: 'c', by: 'b' });
    expect(lines.at(-1)).toMatchObject({ event: 'run.finished', result: 'failed' });
    expect(lines[0]).toMatchObject({
      digest: expect.stringMatching(/^sha256:/),
      argv: expect.arrayContaining(['apply', '--yes']),
    });

    const verified = await runCli(['audit', 'verify', file]);
    expect(verified.code).toBe(EXIT.ok);
    expect(verified.stdout).toContain(`${lines.length} lines, hash chain intact`);
  });

  it.each([
    [
      'an edited line',
      (lines: string[]) =>
        lines.map((l, i) => (i === 2 ? l.replace(/"event":"[^"]+"/, '"event":"tampered"') : l)),
    ],
    ['a deleted line', (lines: string[]) => lines.filter((_, i) => i !== 2)],
    ['two lines swapped', (lines: string[]) => [lines[0]!, lines[2]!, lines[1]!, ...lines.slice(3)]],
    ['an inserted line', (lines: string[]) => [...lines.slice(0, 2), lines[1]!, ...lines.slice(2)]],
  ])('audit verify detects %s and names the first bad line', async (_label, tamper) => {
    const dir = workDir();
    plan(dir, { a: { start: 'true' }, b: { depends_on: ['a'], start: 'true' } });
    expect((await apply(dir)).code).toBe(EXIT.ok);
    const { file } = journal(dir);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    writeFileSync(file, `${tamper(lines).join('\n')}\n`);
    const result = await runCli(['audit', 'verify', file]);
    expect(result.code).toBe(EXIT.invalid);
    expect(result.stdout).toMatch(/chain broken at line [23]:/);
  });

  it('a torn last line (a crash mid-write) is tolerated on read', async () => {
    const dir = workDir();
    plan(dir, { a: { start: 'true' } });
    expect((await apply(dir)).code).toBe(EXIT.ok);
    const { file, lines } = journal(dir);
    writeFileSync(file, `${readFileSync(file, 'utf8')}{"seq":${lines.length + 1},"time":"2026-`);
    const result = await runCli(['audit', 'verify', file]);
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toContain(`${lines.length} lines, hash chain intact (the last line was cut short`);
  });

  it('audit verify of a missing file is a usage error', async () => {
    const result = await runCli(['audit', 'verify', '/nonexistent/run.jsonl']);
    expect(result.code).toBe(EXIT.usage);
    expect(hasStackTrace(result.stderr)).toBe(false);
  });
});

describe('SPEC 5 resume', () => {
  it('exit 4 names the stage and the command that continues; --resume --approve finishes the same run', async () => {
    const dir = workDir();
    const [port] = await freePorts(1);
    const record = join(dir, 'record.txt');
    plan(
      dir,
      {
        db: {
          stage: 'core',
          start: daemon('--name', 'db', '--record', record, '--listen', port!),
          health: tcp(port!),
        },
        app: { stage: 'apps', depends_on: ['db'], start: 'true' },
      },
      { stages: [{ name: 'core' }, { name: 'apps', approval: true }] },
    );
    const first = await apply(dir);
    expect(first.code).toBe(EXIT.awaitingApproval);
    expect(first.stderr).toContain('stopped before stage "apps", which needs approval');
    expect(first.stderr).toContain('restore apply plan.yaml --resume --approve apps');
    const { lines: before } = journal(dir);

    const second = await apply(dir, ['--resume', '--approve', 'apps', '--log-format', 'json']);
    expect(second.code).toBe(EXIT.ok);
    const { lines } = journal(dir);
    expect(lines[0]!.run).toBe(before[0]!.run);
    expect(lines.some((l) => l.event === 'run.resumed')).toBe(true);
    expect(starts(dir, 'db')).toBe(1);
    expect((await runCli(['audit', 'verify', journal(dir).file])).code).toBe(EXIT.ok);

    const status = await cli(dir, ['status', 'plan.yaml', '--format', 'json']);
    expect(JSON.parse(status.stdout)).toMatchObject({
      plan: 'durable',
      run: before[0]!.run,
      state: 'succeeded',
      services: {
        db: { stage: 'core', result: 'healthy', attempts: 1 },
        app: { stage: 'apps', result: 'healthy' },
      },
    });
  });

  it('approvals given earlier in the run hold on resume', async () => {
    const dir = workDir();
    plan(
      dir,
      {
        a: { stage: 'one', start: 'true' },
        b: { stage: 'two', start: 'touch b-started; exit 1', critical: true },
      },
      {
        stages: [
          { name: 'one', approval: true },
          { name: 'two', approval: true },
        ],
      },
    );
    // Approve only stage one; the run stops before two.
    expect((await apply(dir, ['--approve', 'one'])).code).toBe(EXIT.awaitingApproval);
    // Resuming approves two; one needs no approval again.
    const resumed = await apply(dir, ['--resume', '--approve', 'two', '--log-format', 'json']);
    const seen = events(resumed.stdout);
    expect(seen.filter((e) => e.event === 'stage.approved').map((e) => e.stage)).toEqual(['two']);
  });

  it('after SIGINT, --resume finishes without restarting what was healthy', async () => {
    const dir = workDir();
    const [port] = await freePorts(1);
    const record = join(dir, 'record.txt');
    plan(dir, {
      db: { start: daemon('--name', 'db', '--record', record, '--listen', port!), health: tcp(port!) },
      slow: {
        depends_on: ['db'],
        // The copy left running by the kill ends when `go` appears (resume waits for it).
        start: {
          run: 'if [ -f go ]; then exit 0; fi; touch waiting; while [ ! -f go ]; do sleep 0.1; done',
          shell: true,
        },
      },
    });
    const { child, done } = spawnCli(['apply', 'plan.yaml', '--state-dir', 'state'], { cwd: dir });
    await eventually(() => existsSync(join(dir, 'waiting')), 'the slow service to start', 15_000);
    child.kill('SIGINT');
    expect((await done).code).toBe(EXIT.sigint);
    expect(journal(dir).lines.at(-1)).toMatchObject({ event: 'run.finished', result: 'interrupted' });
    expect(journal(dir).lines.some((l) => l.event === 'run.interrupted')).toBe(true);

    writeFileSync(join(dir, 'go'), '');
    const resumed = await apply(dir, ['--resume']);
    expect(resumed.code).toBe(EXIT.ok);
    expect(starts(dir, 'db')).toBe(1);
  });

  it('after kill -9 of restore itself, --resume finishes without restarting healthy services', async () => {
    const dir = workDir();
    const [a, b] = await freePorts(2);
    const record = join(dir, 'record.txt');
    plan(dir, {
      first: { start: daemon('--name', 'first', '--record', record, '--listen', a!), health: tcp(a!) },
      second: {
        depends_on: ['first'],
        start: daemon('--name', 'second', '--record', record, '--listen', b!),
        health: tcp(b!),
      },
      last: {
        depends_on: ['second'],
        // The copy left running by the kill ends when `go` appears (resume waits for it).
        start: {
          run: 'if [ -f go ]; then exit 0; fi; touch waiting; while [ ! -f go ]; do sleep 0.1; done',
          shell: true,
        },
      },
    });
    const { child, done } = spawnCli(['apply', 'plan.yaml', '--state-dir', 'state'], { cwd: dir });
    await eventually(() => existsSync(join(dir, 'waiting')), 'the last service to start', 15_000);
    child.kill('SIGKILL');
    await done;
    writeFileSync(join(dir, 'go'), '');
    const status = await cli(dir, ['status', 'plan.yaml', '--format', 'json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ state: 'interrupted' });

    const resumed = await apply(dir, ['--resume']);
    expect(resumed.code, resumed.stderr).toBe(EXIT.ok);
    expect(resumed.stderr).toContain('took over a stale lock');
    expect(starts(dir, 'first')).toBe(1);
    expect(starts(dir, 'second')).toBe(1);
    expect((await runCli(['audit', 'verify', journal(dir).file])).code).toBe(EXIT.ok);
  });

  it('a daemon still starting when restore was killed is adopted on resume, not started twice', async () => {
    const dir = workDir();
    const [port] = await freePorts(1);
    const record = join(dir, 'record.txt');
    plan(dir, {
      slowpoke: {
        start: daemon('--name', 'slowpoke', '--record', record, '--delay', 1500, '--listen', port!),
        health: tcp(port!),
      },
    });
    const { child, done } = spawnCli(['apply', 'plan.yaml', '--state-dir', 'state'], { cwd: dir });
    await eventually(() => starts(dir, 'slowpoke') === 1, 'the daemon to start', 15_000);
    child.kill('SIGKILL');
    await done;
    const resumed = await apply(dir, ['--resume', '--log-format', 'json']);
    expect(resumed.code, resumed.stderr).toBe(EXIT.ok);
    expect(starts(dir, 'slowpoke')).toBe(1);
    const seen = events(resumed.stdout);
    expect(seen.find((e) => e.event === 'service.healthy')).toMatchObject({ resumed: true });
  });

  it('a one-shot still running when restore was killed is waited for on resume, then run again: never two at once', async () => {
    const dir = workDir();
    plan(dir, {
      once: {
        start: {
          // The first copy runs until the test says `go`; the second passes through.
          run: 'echo "start $$" >> log.txt; while [ ! -f go ]; do sleep 0.05; done; echo "end $$" >> log.txt',
          shell: true,
        },
      },
    });
    const { child, done } = spawnCli(['apply', 'plan.yaml', '--state-dir', 'state'], { cwd: dir });
    await eventually(() => existsSync(join(dir, 'log.txt')), 'the one-shot to start', 15_000);
    child.kill('SIGKILL');
    await done;
    const resume = spawnCli(
      ['apply', 'plan.yaml', '--state-dir', 'state', '--resume', '--log-format', 'json'],
      {
        cwd: dir,
        timeoutMs: 60_000,
      },
    );
    let seen = '';
    resume.child.stdout!.on('data', (chunk: string) => {
      seen += chunk;
    });
    await eventually(() => seen.includes('"service.in-flight"'), 'resume to find the copy in flight', 30_000);
    // Still only the first copy: resume waits for it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(readFileSync(join(dir, 'log.txt'), 'utf8').trim().split('\n')).toHaveLength(1);
    writeFileSync(join(dir, 'go'), '');
    const resumed = await resume.done;
    expect(resumed.code, resumed.stderr).toBe(EXIT.ok);
    const lines = readFileSync(join(dir, 'log.txt'), 'utf8').trim().split('\n');
    // start A, end A, start B, end B: the second copy started only after the first ended.
    expect(lines.map((line) => line.split(' ')[0])).toEqual(['start', 'end', 'start', 'end']);
    expect(lines[0]!.split(' ')[1]).toBe(lines[1]!.split(' ')[1]);
    expect(lines[2]!.split(' ')[1]).toBe(lines[3]!.split(' ')[1]);
    const phases = events(resumed.stdout)
      .filter((e) => e.event === 'service.in-flight')
      .map((e) => (e as unknown as { phase: string }).phase);
    expect(phases).toEqual(['waiting', 'ended']);
  });

  it('a one-shot still running past its deadline on resume is stopped before it runs again', async () => {
    const dir = workDir();
    plan(dir, {
      once: {
        start: {
          run: 'if [ -f log.txt ]; then echo "second" >> log.txt; exit 0; fi; echo "first $$" >> log.txt; trap "echo stopped >> log.txt; exit 1" TERM; sleep 300 & wait',
          shell: true,
          timeout: '2s',
        },
      },
    });
    const { child, done } = spawnCli(['apply', 'plan.yaml', '--state-dir', 'state'], { cwd: dir });
    await eventually(() => existsSync(join(dir, 'log.txt')), 'the one-shot to start', 15_000);
    child.kill('SIGKILL');
    await done;
    const resumed = await apply(dir, ['--resume', '--log-format', 'json']);
    expect(resumed.code, resumed.stderr).toBe(EXIT.ok);
    const lines = readFileSync(join(dir, 'log.txt'), 'utf8').trim().split('\n');
    expect(lines.slice(1)).toEqual(['stopped', 'second']);
    const phases = events(resumed.stdout)
      .filter((e) => e.event === 'service.in-flight')
      .map((e) => (e as unknown as { phase: string }).phase);
    expect(phases).toEqual(['waiting', 'stopped']);
  });

  it('refuses to resume a run whose plan changed, unless --force', async () => {
    const dir = workDir();
    plan(dir, { a: { start: 'false' } });
    expect((await apply(dir)).code).toBe(EXIT.failed);
    plan(dir, { a: { start: 'true' } });
    const refused = await apply(dir, ['--resume']);
    expect(refused.code).toBe(EXIT.invalid);
    expect(refused.stderr).toContain('the plan changed since run');
    expect((await apply(dir, ['--resume', '--force'])).code).toBe(EXIT.ok);
  });

  it('the latest run having succeeded, there is nothing to resume', async () => {
    const dir = workDir();
    plan(dir, { a: { start: 'true' } });
    expect((await apply(dir)).code).toBe(EXIT.ok);
    const again = await apply(dir, ['--resume']);
    expect(again.code).toBe(EXIT.ok);
    expect(again.stderr).toContain('nothing to resume');
  });
});

describe('SPEC 4 step 7 and SPEC 5: rollback and the digest guard', () => {
  it('--on-failure rollback stops what this run started in reverse order and never touches what was healthy before', async () => {
    const dir = workDir();
    const [pre, one, two] = await freePorts(3);
    const stopped = join(dir, 'stopped.txt');
    const stop = (name: string) => ({
      run: `echo ${name} >> ${stopped}; kill $(cat state/durable/services/${name}.pid)`,
      shell: true,
    });
    plan(dir, {
      pre: { start: daemon('--listen', pre!), health: tcp(pre!), stop: stop('pre') },
      one: { depends_on: ['pre'], start: daemon('--listen', one!), health: tcp(one!), stop: stop('one') },
      two: { depends_on: ['one'], start: daemon('--listen', two!), health: tcp(two!) },
      broken: { depends_on: ['two'], start: 'false' },
    });
    // `pre` is healthy before the run that fails.
    expect((await apply(dir, ['--only', 'pre'])).code).toBe(EXIT.ok);
    const prePid = Number(readFileSync(join(dir, 'state', 'durable', 'services', 'pre.pid'), 'utf8'));

    const result = await apply(dir, ['--on-failure', 'rollback', '--log-format', 'json']);
    expect(result.code).toBe(EXIT.failed);
    const seen = events(result.stdout);
    expect(seen.filter((e) => e.event === 'service.rolled-back').map((e) => e.service)).toEqual([
      'two',
      'one',
    ]);
    expect(readFileSync(stopped, 'utf8').trim().split('\n')).toEqual(['one']);
    expect(isAlive(prePid)).toBe(true);
    expect(seen.at(-1)!.services).toMatchObject({
      pre: { result: 'already-healthy' },
      one: { result: 'rolled-back' },
      two: { result: 'rolled-back' },
      broken: { result: 'failed' },
    });
  });

  it('--expect-digest refuses a plan that differs from what was reviewed (exit 1, nothing started)', async () => {
    const dir = workDir();
    plan(dir, { a: { start: 'touch started' } });
    const preview = JSON.parse(
      (await runCli(['plan', 'plan.yaml', '--format', 'json'], { cwd: dir })).stdout,
    ) as {
      digest: string;
    };
    const wrong = `sha256:${'0'.repeat(64)}`;
    const refused = await apply(dir, ['--expect-digest', wrong]);
    expect(refused.code).toBe(EXIT.invalid);
    expect(refused.stderr).toContain(preview.digest);
    expect(existsSync(join(dir, 'started'))).toBe(false);
    expect((await apply(dir, ['--expect-digest', preview.digest])).code).toBe(EXIT.ok);
    expect(existsSync(join(dir, 'started'))).toBe(true);
  });
});

describe('SPEC 3 status and report', () => {
  it('report: markdown with a results table and a Mermaid Gantt timeline, junit, json; --run picks a run', async () => {
    const dir = workDir();
    plan(dir, { a: { start: 'true' }, b: { depends_on: ['a'], start: 'false' } });
    expect((await apply(dir)).code).toBe(EXIT.failed);
    const run = journal(dir).lines[0]!.run as string;
    const markdown = await cli(dir, ['report', 'plan.yaml']);
    expect(markdown.code).toBe(EXIT.ok);
    expect(markdown.stdout).toContain('| Service | Stage | Result | Attempts | Duration | Notes |');
    expect(markdown.stdout).toMatch(/\| `b` \| `wave-2` \| FAILED \| 1 \|/);
    expect(markdown.stdout).toContain('```mermaid\ngantt');
    const junit = await cli(dir, ['report', 'plan.yaml', '--format', 'junit', '--run', run]);
    expect(junit.stdout).toMatch(
      /<testcase classname="durable.wave-2" name="b"[^>]*>\s*<failure type="failed"/,
    );
    expect((junit.stdout.match(/<testcase /g) ?? []).length).toBe(2);
    const json = JSON.parse((await cli(dir, ['report', 'plan.yaml', '--format', 'json'])).stdout) as {
      run: string;
      state: string;
    };
    expect(json).toMatchObject({ run, state: 'failed' });
    const missing = await cli(dir, ['report', 'plan.yaml', '--run', '20990101T000000000Z-ffff']);
    expect(missing.code).toBe(EXIT.usage);
  });
});

describe('SPEC 5 secrets and file modes', () => {
  it('a secret never appears in the journal, run log, service logs, reports, terminal or JSON output', async () => {
    const dir = workDir();
    const secret = 'Sup3r-S3cret-Value';
    const [port] = await freePorts(1);
    plan(
      dir,
      {
        daemon: {
          start: {
            ...daemon('--print', `token=\${API_TOKEN}`, '--listen', port!),
            env: { TOKEN: '${API_TOKEN}' },
          },
          health: tcp(port!),
        },
        talker: {
          // The secret printed whole, and split across two writes.
          start: {
            run: `echo "db password is $TOKEN"; printf '%s' "$$\{TOKEN%%-Value}"; sleep 0.1; printf -- '-Value\\n'; echo "$TOKEN" >&2; exit 3`,
            shell: true,
            env: { TOKEN: '${API_TOKEN}' },
          },
          critical: false,
        },
      },
      { secrets: ['API_TOKEN'] },
    );
    const env = { API_TOKEN: secret };
    const outputs = [
      await apply(dir, ['--verbose'], env),
      await apply(dir, ['--verbose', '--log-format', 'json'], env),
      await runCli(['plan', 'plan.yaml'], { cwd: dir, env }),
      await runCli(['plan', 'plan.yaml', '--format', 'json'], { cwd: dir, env }),
      await cli(dir, ['status', 'plan.yaml', '--format', 'json'], env),
      await cli(dir, ['report', 'plan.yaml'], env),
      await cli(dir, ['report', 'plan.yaml', '--format', 'junit'], env),
    ];
    for (const output of outputs) {
      expect(output.stdout + output.stderr).not.toContain(secret);
      expect(output.stdout + output.stderr).not.toContain('Sup3r');
    }
    expect(outputs[0]!.stdout, outputs[0]!.stderr).toContain('db password is [REDACTED]');
    const files = listFiles(join(dir, 'state'));
    expect(files.length).toBeGreaterThan(4);
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      expect(text, file).not.toContain(secret);
      expect(text, file).not.toContain('Sup3r-S3');
    }
    expect(readFileSync(join(dir, 'state', 'durable', 'services', 'daemon.log'), 'utf8')).toContain(
      'token=[REDACTED]',
    );
  });

  it('files restore creates are 0600 and its directories 0700', async () => {
    const dir = workDir();
    const [port] = await freePorts(1);
    plan(dir, { d: { start: daemon('--listen', port!), health: tcp(port!) } });
    expect((await apply(dir)).code).toBe(EXIT.ok);
    for (const path of [join(dir, 'state'), ...listDirs(join(dir, 'state'))])
      expect(statSync(path).mode & 0o777, path).toBe(0o700);
    for (const file of listFiles(join(dir, 'state'))) expect(statSync(file).mode & 0o777, file).toBe(0o600);
  });
});

function listFiles(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

function listDirs(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(entry.parentPath, entry.name));
}

describe('SPEC 4 step 9 and SPEC 5: kill -9 at any moment (a seeded share of bench/durability.ts)', () => {
  it('apply, resume, rollback and down killed at seeded moments: all finished, chains intact, nothing twice', async () => {
    const tmpDir = workDir();
    const env = { node: process.execPath, bin: BIN, fixture: FIXTURE, tmpDir };
    const outcomes = [];
    // Seeds 1-8: two kill points of each kind; a small plan so that the share stays fast.
    for (let seed = 1; seed <= 8; seed++)
      outcomes.push(await killPoint(env, seed, { services: 4, windowMs: 1200 }));
    expect(outcomes.flatMap((o) => o.problems.map((p) => `seed ${o.seed} (${o.phase}): ${p}`))).toEqual([]);
    expect(tally(outcomes)).toEqual({
      points: 8,
      finished: 8,
      brokenChains: 0,
      doubleStarts: 0,
      overlaps: 0,
      locksLeft: 0,
    });
  }, 180_000);
});

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { BIN, type CliResult, hasStackTrace, runCli, spawnCli, whenOutput } from '../helpers/cli.js';
import { useWorkDirs } from '../helpers/e2e.js';
import { eventually } from '../helpers/processes.js';
import { writeFile } from '../helpers/tmp.js';

const workDir = useWorkDirs();

/** A plan of two stages whose first, `core`, needs the approval given. */
function plan(dir: string, approval: unknown): void {
  writeFile(
    dir,
    'plan.yaml',
    JSON.stringify({
      version: 1,
      name: 'gate',
      stages: [{ name: 'core', approval }, { name: 'apps' }],
      services: {
        db: { stage: 'core', start: 'true' },
        app: { stage: 'apps', depends_on: ['db'], start: 'true' },
      },
    }),
  );
}

/** Real OpenSSH keys, made in the test's directory, and an allowed_signers file for some of them. */
function keys(dir: string, names: string[], allowed: string[] = names): void {
  for (const name of names)
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', join(dir, name)]);
  const lines = allowed.map((name) => {
    const [type, key] = readFileSync(join(dir, `${name}.pub`), 'utf8').split(' ');
    return `${name} ${type} ${key}\n`;
  });
  writeFileSync(join(dir, 'allowed_signers'), lines.join(''));
}

const signedRule = { approvers: 1, signed: true, allowed_signers: 'allowed_signers' };

async function cli(dir: string, args: string[]): Promise<CliResult> {
  const result = await runCli(args, { cwd: dir, timeoutMs: 30_000 });
  expect(hasStackTrace(result.stdout + result.stderr), result.stderr).toBe(false);
  return result;
}

const apply = (dir: string, ...args: string[]) =>
  cli(dir, ['apply', 'plan.yaml', '--state-dir', 'state', '--log-format', 'json', ...args]);

const approve = (dir: string, as: string, ...args: string[]) =>
  cli(dir, ['approve', 'plan.yaml', '--stage', 'core', '--state-dir', 'state', '--as', as, ...args]);

interface Line {
  event: string;
  time: number | string;
  approver?: string;
  via?: string;
  comment?: string | null;
  signature?: string;
}

const jsonLines = (text: string): Line[] =>
  text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Line);

function journal(dir: string): { file: string; lines: Line[] } {
  const runs = join(dir, 'state', 'gate', 'runs');
  const name = readdirSync(runs).find((file) => file.endsWith('.jsonl'))!;
  const file = join(runs, name);
  return { file, lines: jsonLines(readFileSync(file, 'utf8')) };
}

const approvers = (lines: Line[]) => lines.filter((l) => l.event === 'stage.approved').map((l) => l.approver);

function inbox(dir: string): string {
  const root = join(dir, 'state', 'gate', 'approvals');
  const [run] = readdirSync(root);
  return join(root, run!, 'core');
}

describe('SPEC 9 approvals: the plan', () => {
  it('validate reports a signed approval without allowed_signers, and from naming fewer than approvers', async () => {
    const dir = workDir();
    plan(dir, { approvers: 3, from: ['alice', 'bob'], signed: true });
    const result = await cli(dir, ['validate', 'plan.yaml', '--format', 'json']);
    expect(result.code).toBe(EXIT.invalid);
    const codes = (JSON.parse(result.stdout) as { code: string; message: string }[]).map((d) => [
      d.code,
      d.message,
    ]);
    expect(codes).toContainEqual(['missing-key', 'approval: signed: true needs allowed_signers']);
    expect(codes).toContainEqual([
      'invalid-value',
      'approval needs 3 distinct approvers but from names only 2',
    ]);
  });

  it('approvers below 1 is invalid', async () => {
    const dir = workDir();
    plan(dir, { approvers: 0 });
    const result = await cli(dir, ['validate', 'plan.yaml', '--format', 'json']);
    expect(result.code).toBe(EXIT.invalid);
    expect(result.stdout).toContain('invalid-value');
  });

  it('plan shows who must approve, in text and JSON, and the digest covers it', async () => {
    const dir = workDir();
    plan(dir, { approvers: 2, from: ['alice', 'bob', 'carol'], signed: true, allowed_signers: 'a' });
    const text = await cli(dir, ['plan', 'plan.yaml']);
    expect(text.stdout).toContain('[approval required: 2 of alice, bob, carol, signed]');
    const json = JSON.parse((await cli(dir, ['plan', 'plan.yaml', '--format', 'json'])).stdout);
    expect(json.stages[0]).toMatchObject({
      approval: true,
      approval_rule: { approvers: 2, from: ['alice', 'bob', 'carol'], signed: true, allowed_signers: 'a' },
    });
    plan(dir, { approvers: 1, from: ['alice', 'bob', 'carol'], signed: true, allowed_signers: 'a' });
    const other = JSON.parse((await cli(dir, ['plan', 'plan.yaml', '--format', 'json'])).stdout);
    expect(other.digest).not.toBe(json.digest);
  });
});

describe('SPEC 9 restore approve', () => {
  it('two approvers: apply --wait-approval picks the second approval up within 1 s and goes on', async () => {
    const dir = workDir();
    plan(dir, { approvers: 2, from: ['alice', 'bob', 'carol'] });
    const waiting = spawnCli(
      ['apply', 'plan.yaml', '--state-dir', 'state', '--log-format', 'json', '--wait-approval'],
      { cwd: dir, timeoutMs: 60_000 },
    );
    // Whatever happens below, the waiting apply does not outlive the test.
    const stop = setTimeout(() => waiting.child.kill('SIGKILL'), 30_000);
    const runs = join(dir, 'state', 'gate', 'runs');
    await eventually(
      () => existsSync(runs) && readdirSync(runs).some((file) => file.endsWith('.jsonl')),
      'the run started',
      10_000,
    );
    const first = await approve(dir, 'alice', '--comment', 'db snapshot checked');
    expect(first.code, first.stderr).toBe(EXIT.ok);
    expect(first.stdout).toMatch(/recorded approval of stage core by alice for run \S+ \(1 of 2\)/);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(waiting.child.exitCode).toBeNull();
    const second = await approve(dir, 'bob');
    const approvedAt = Date.now();
    expect(second.code, second.stderr).toBe(EXIT.ok);
    const result = await waiting.done;
    clearTimeout(stop);
    expect(result.code, result.stderr).toBe(EXIT.ok);
    const lines = jsonLines(result.stdout);
    const bob = lines.find((l) => l.event === 'stage.approved' && l.approver === 'bob')!;
    expect(Number(bob.time) - approvedAt).toBeLessThan(1000);
    expect(lines.find((l) => l.approver === 'alice')).toMatchObject({
      via: 'approve',
      comment: 'db snapshot checked',
    });
    expect(approvers(journal(dir).lines)).toEqual(['alice', 'bob']);
  });

  it('on a terminal the prompt is the approval of --approver, and the gate waits for the rest', async () => {
    const dir = workDir();
    plan(dir, { approvers: 2, from: ['alice', 'bob'] });
    // A real terminal: util-linux script(1) runs apply on a pseudo-terminal.
    const command = `${process.execPath} ${BIN} apply plan.yaml --state-dir state --approver alice`;
    const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const stop = setTimeout(() => child.kill('SIGKILL'), 30_000);
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      await whenOutput(child, 'Start stage "core" (1 service)? [y/N]');
      child.stdin!.write('y\n');
      await whenOutput(
        child,
        /waits for 1 approval from alice, bob \(1 of 2 given; restore approve --stage core\)/,
      );
      expect((await approve(dir, 'bob')).code).toBe(EXIT.ok);
      expect(await exited, output).toBe(EXIT.ok);
    } finally {
      clearTimeout(stop);
      child.kill('SIGKILL');
    }
    const given = journal(dir).lines.filter((l) => l.event === 'stage.approved');
    expect(given.map((l) => [l.approver, l.via])).toEqual([
      ['alice', 'prompt'],
      ['bob', 'approve'],
    ]);
  });

  it('refuses the same name twice, a name outside from, an unknown stage and one that needs no approval', async () => {
    const dir = workDir();
    plan(dir, { approvers: 2, from: ['alice', 'bob'] });
    expect((await apply(dir)).code).toBe(EXIT.awaitingApproval);
    expect((await approve(dir, 'alice')).code).toBe(EXIT.ok);
    const twice = await approve(dir, 'alice');
    expect(twice.code).toBe(EXIT.usage);
    expect(twice.stderr).toMatch(/already approved by alice/);
    const outsider = await approve(dir, 'mallory');
    expect(outsider.code).toBe(EXIT.usage);
    expect(outsider.stderr).toContain('mallory may not approve stage core: only alice, bob may');
    const unknown = await cli(dir, ['approve', 'plan.yaml', '--stage', 'nope', '--state-dir', 'state']);
    expect(unknown.code).toBe(EXIT.usage);
    expect(unknown.stderr).toContain('has no stage "nope"');
    const apps = await cli(dir, ['approve', 'plan.yaml', '--stage', 'apps', '--state-dir', 'state']);
    expect(apps.code).toBe(EXIT.usage);
    expect(apps.stderr).toContain('stage apps needs no approval');
    expect(readdirSync(inbox(dir))).toEqual(['alice.json']);
  });

  it('refuses an approval when no run of the plan awaits one', async () => {
    const dir = workDir();
    plan(dir, true);
    const none = await approve(dir, 'alice');
    expect(none.code).toBe(EXIT.usage);
    expect(none.stderr).toContain('no run of plan gate awaits an approval');
    expect((await apply(dir, '--yes')).code).toBe(EXIT.ok);
    const done = await approve(dir, 'alice');
    expect(done.code).toBe(EXIT.usage);
    expect(done.stderr).toContain('succeeded');
  });

  it('eight approvals at once, four names each twice: exactly four recorded, none lost', async () => {
    const dir = workDir();
    const names = ['alice', 'bob', 'carol', 'dave'];
    plan(dir, { approvers: 4, from: names });
    expect((await apply(dir)).code).toBe(EXIT.awaitingApproval);
    const results = await Promise.all([...names, ...names].map((name) => approve(dir, name)));
    const codes = results.map((r) => r.code).sort();
    expect(codes).toEqual([0, 0, 0, 0, 2, 2, 2, 2]);
    expect(results.filter((r) => r.code === 2).every((r) => /already approved by/.test(r.stderr))).toBe(true);
    expect(readdirSync(inbox(dir)).sort()).toEqual(names.map((n) => `${n}.json`));
    const resumed = await apply(dir, '--resume');
    expect(resumed.code, resumed.stderr).toBe(EXIT.ok);
    expect(approvers(journal(dir).lines).sort()).toEqual(names);
  });

  it('apply --resume after exit 4 goes on once enough approvals are in the inbox; those given hold, once per name', async () => {
    const dir = workDir();
    plan(dir, { approvers: 2 });
    expect((await apply(dir)).code).toBe(EXIT.awaitingApproval);
    expect((await approve(dir, 'alice')).code).toBe(EXIT.ok);
    // One of two: counted and journaled, and the run stops again.
    expect((await apply(dir, '--resume')).code).toBe(EXIT.awaitingApproval);
    expect(approvers(journal(dir).lines)).toEqual(['alice']);
    expect((await approve(dir, 'bob')).code).toBe(EXIT.ok);
    const resumed = await apply(dir, '--resume');
    expect(resumed.code, resumed.stderr).toBe(EXIT.ok);
    expect(approvers(journal(dir).lines)).toEqual(['alice', 'bob']);
  });

  it('--wait-approval gives up after --approval-timeout: exit 4, resumable', async () => {
    const dir = workDir();
    plan(dir, { approvers: 1, from: ['alice'] });
    const started = Date.now();
    const result = await apply(dir, '--wait-approval', '--approval-timeout', '700ms');
    expect(result.code).toBe(EXIT.awaitingApproval);
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    expect(jsonLines(result.stdout).some((l) => l.event === 'run.awaiting-approval')).toBe(true);
  });
});

describe('SPEC 9 signed approvals', () => {
  it('a good signature is recorded and counted; the journal keeps it; audit verify checks it again', async () => {
    const dir = workDir();
    keys(dir, ['alice']);
    plan(dir, signedRule);
    expect((await apply(dir)).code).toBe(EXIT.awaitingApproval);
    const signed = await approve(dir, 'alice', '--sign-with', 'alice', '--comment', 'go');
    expect(signed.code, signed.stderr).toBe(EXIT.ok);
    expect(signed.stdout).toContain('recorded signed approval of stage core by alice');
    const resumed = await apply(dir, '--resume');
    expect(resumed.code, resumed.stderr).toBe(EXIT.ok);
    const { file, lines } = journal(dir);
    const approval = lines.find((l) => l.event === 'stage.approved')!;
    expect(approval).toMatchObject({ approver: 'alice', comment: 'go', via: 'approve' });
    expect(approval.signature).toContain('BEGIN SSH SIGNATURE');

    const audit = await cli(dir, ['audit', 'verify', file]);
    expect(audit.code).toBe(EXIT.ok);
    expect(audit.stdout).toMatch(/approval of stage core by alice \(line \d+\): signature verified/);
    // Another key in allowed_signers under alice's name: the journaled signature no longer holds.
    keys(dir, ['other'], []);
    const [type, key] = readFileSync(join(dir, 'other.pub'), 'utf8').split(' ');
    writeFileSync(join(dir, 'allowed_signers'), `alice ${type} ${key}\n`);
    const bad = await cli(dir, ['audit', 'verify', file]);
    expect(bad.code).toBe(EXIT.invalid);
    expect(bad.stdout).toContain('signature DOES NOT verify');
    // Without the plan, the chain is verified and the signature said unchecked.
    const unchecked = await cli(dir, ['audit', 'verify', file, '--plan', join(dir, 'missing.yaml')]);
    expect(unchecked.code).toBe(EXIT.ok);
    expect(unchecked.stdout).toContain('signature not checked: cannot read the plan');
  });

  it('refuses an unsigned approval, a key not in allowed_signers, and a file that is not a key', async () => {
    const dir = workDir();
    keys(dir, ['alice', 'mallory'], ['alice']);
    plan(dir, signedRule);
    expect((await apply(dir)).code).toBe(EXIT.awaitingApproval);
    const unsigned = await approve(dir, 'alice');
    expect(unsigned.code).toBe(EXIT.usage);
    expect(unsigned.stderr).toContain('needs a signed approval: give your key with --sign-with');
    const wrong = await approve(dir, 'alice', '--sign-with', 'mallory');
    expect(wrong.code).toBe(EXIT.usage);
    expect(wrong.stderr).toContain("is not alice's in allowed_signers");
    const notKey = await approve(dir, 'alice', '--sign-with', 'plan.yaml');
    expect(notKey.code).toBe(EXIT.usage);
    expect(notKey.stderr).toContain('not a usable OpenSSH private key');
    expect(existsSync(join(dir, 'state', 'gate', 'approvals'))).toBe(false);
    expect((await apply(dir, '--resume')).code).toBe(EXIT.awaitingApproval);
  });

  it('a tampered approval record is not counted', async () => {
    const dir = workDir();
    keys(dir, ['alice']);
    plan(dir, signedRule);
    expect((await apply(dir)).code).toBe(EXIT.awaitingApproval);
    expect((await approve(dir, 'alice', '--sign-with', 'alice', '--comment', 'core only')).code).toBe(
      EXIT.ok,
    );
    const file = join(inbox(dir), 'alice.json');
    const record = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...record, comment: 'everything' }));
    const resumed = await apply(dir, '--resume');
    expect(resumed.code).toBe(EXIT.awaitingApproval);
    expect(approvers(journal(dir).lines)).toEqual([]);
  });

  it('--yes does not satisfy a signed gate, nor one that needs two approvals', async () => {
    const dir = workDir();
    keys(dir, ['alice']);
    plan(dir, signedRule);
    expect((await apply(dir, '--yes')).code).toBe(EXIT.awaitingApproval);
    expect((await apply(dir, '--resume', '--approve', 'core')).code).toBe(EXIT.awaitingApproval);
    const two = workDir();
    plan(two, { approvers: 2 });
    const result = await apply(two, '--yes');
    expect(result.code).toBe(EXIT.awaitingApproval);
    expect(result.stderr).toContain(
      'It needs 2 approvals: each approver runs restore approve plan.yaml --stage core',
    );
    expect(approvers(journal(two).lines)).toEqual([]);
  });
});

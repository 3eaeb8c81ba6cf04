import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { hasStackTrace, ROOT, runCli, spawnCli, whenOutput } from '../helpers/cli.js';
import { freePorts } from '../helpers/ports.js';
import { useTempDir, writeFile } from '../helpers/tmp.js';

const tempDir = useTempDir();

interface Received {
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  raw: string;
}

/** How a test receiver answers: 200, 500 always, 500 twice then 200, or never. */
type Behaviour = 'ok' | 'error' | 'flaky' | 'hang';

interface Receiver {
  url: string;
  received: Received[];
  /** Requests seen, answered or not. */
  requests: number;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

/** A real HTTP receiver on 127.0.0.1 that keeps every request it gets. */
async function receiver(behaviour: Behaviour = 'ok'): Promise<Receiver> {
  const state: Receiver = { url: '', received: [], requests: 0 };
  const server = createServer((request, response) => {
    state.requests += 1;
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      if (behaviour === 'hang') return;
      if (behaviour === 'error' || (behaviour === 'flaky' && state.requests <= 2)) {
        response.writeHead(500).end('broken');
        return;
      }
      state.received.push({
        headers: request.headers,
        body: JSON.parse(raw) as Record<string, unknown>,
        raw,
      });
      response.writeHead(200).end('ok');
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  return state;
}

/** A URL where nothing listens. */
async function downUrl(): Promise<string> {
  const [port] = await freePorts(1);
  return `http://127.0.0.1:${port}/hook`;
}

function writePlan(dir: string, plan: Record<string, unknown>): string {
  return writeFile(dir, 'plan.yaml', JSON.stringify(plan, null, 2));
}

/** The journal lines of the plan's only run. */
function journal(dir: string, plan: string): Record<string, unknown>[] {
  const runs = join(dir, '.restore', plan, 'runs');
  const file = readdirSync(runs).find((name) => name.endsWith('.jsonl'))!;
  return readFileSync(join(runs, file), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Every file of the state dir, as text: journal, run log, service logs. */
function stateText(dir: string): string {
  const root = join(dir, '.restore');
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => readFileSync(join(entry.parentPath, entry.name), 'utf8'))
    .join('\n');
}

const TOKEN = 'hook-t0ken-4d1f9';
const PASSWORD = 'db-pa55word-77c2';
const env = { HOOK_TOKEN: TOKEN, DB_PASSWORD: PASSWORD };

/** a, then b, which prints both secrets on stderr and fails. */
function failingServices() {
  return {
    a: { start: ['true'] },
    b: {
      depends_on: ['a'],
      start: { run: 'echo "pw=$DB_PASSWORD tok=$HOOK_TOKEN" >&2; exit 1', shell: true },
    },
  };
}

/** Three services one after another, a second each: a run of about three seconds. */
function slowServices(seconds = 1) {
  const sleep = ['sleep', String(seconds)];
  return {
    one: { start: sleep },
    two: { depends_on: ['one'], start: sleep },
    three: { depends_on: ['two'], start: sleep },
  };
}

describe('SPEC 12 notifications: webhook', () => {
  it('a webhook gets the default events with plan, run, stage, service, result, duration and a summary, its header, and no secret', async () => {
    const dir = tempDir();
    const hook = await receiver();
    const file = writePlan(dir, {
      version: 1,
      name: 'hooked',
      secrets: ['DB_PASSWORD'],
      notify: [{ webhook: hook.url, headers: { Authorization: 'Bearer ${HOOK_TOKEN}' } }],
      services: failingServices(),
    });
    const result = await runCli(['apply', file], { env, timeoutMs: 60_000 });
    expect(result.code, result.stderr).toBe(EXIT.failed);
    const lines = journal(dir, 'hooked');
    const run = lines[0]!.run;
    expect(hook.received.map((r) => r.body.event)).toEqual([
      'run.started',
      'stage.started',
      'stage.finished',
      'stage.started',
      'service.failed',
      'stage.finished',
      'run.finished',
    ]);
    for (const r of hook.received) {
      expect(r.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.body).toMatchObject({ source: 'restore', plan: 'hooked', run });
      expect(typeof r.body.summary).toBe('string');
      expect(r.raw).not.toContain(TOKEN);
      expect(r.raw).not.toContain(PASSWORD);
    }
    const failed = hook.received.find((r) => r.body.event === 'service.failed')!.body;
    expect(failed).toMatchObject({ service: 'b', stage: 'wave-2', result: 'failed' });
    expect(failed.duration_ms).toEqual(expect.any(Number));
    expect(failed.summary).toContain('b FAILED in stage wave-2');
    expect(failed.summary).toContain('[REDACTED]');
    expect(failed.details).toMatchObject({ service: 'b', reason: 'start-failed' });
    const finished = hook.received.at(-1)!.body;
    expect(finished).toMatchObject({ result: 'failed', service: null });
    expect(finished.duration_ms).toBe(lines.find((l) => l.event === 'run.finished')!.duration_ms);
    expect(finished.next).toContain(`restore apply ${file} --resume`);
    // Nothing went wrong with the delivery, so nothing says so.
    expect(lines.some((l) => l.event === 'notify.failed')).toBe(false);
    for (const text of [result.stdout, result.stderr, stateText(dir)]) {
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain(PASSWORD);
    }
  });

  it('`events` picks what a sink gets, and a sink whose URL is an unset ${NAME:-} is off', async () => {
    const dir = tempDir();
    const hook = await receiver();
    const file = writePlan(dir, {
      version: 1,
      name: 'picked',
      notify: [
        { webhook: hook.url, events: ['service.healthy', 'run.finished'] },
        { webhook: '${NOT_SET_ANYWHERE:-}' },
      ],
      services: { a: { start: ['true'] }, b: { depends_on: ['a'], start: ['true'] } },
    });
    const result = await runCli(['apply', file], { timeoutMs: 60_000 });
    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect(hook.received.map((r) => [r.body.event, r.body.service])).toEqual([
      ['service.healthy', 'a'],
      ['service.healthy', 'b'],
      ['run.finished', null],
    ]);
    expect(hook.received.at(-1)!.body).toMatchObject({ result: 'succeeded' });
    const plan = await runCli(['plan', file]);
    expect(plan.stdout).toContain('webhook off');
  });

  it('a receiver that fails twice, then answers, gets its message on the third try', async () => {
    const dir = tempDir();
    const hook = await receiver('flaky');
    const file = writePlan(dir, {
      version: 1,
      name: 'flaky',
      notify: [{ webhook: hook.url, events: ['run.finished'] }],
      services: { a: { start: ['true'] } },
    });
    const result = await runCli(['apply', file], { timeoutMs: 60_000 });
    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect(hook.requests).toBe(3);
    expect(hook.received.map((r) => r.body.event)).toEqual(['run.finished']);
    expect(journal(dir, 'flaky').some((l) => l.event === 'notify.failed')).toBe(false);
  });
});

describe('SPEC 12 notifications: Slack', () => {
  it('a Slack sink gets incoming-webhook messages that say what happened, who must approve and the command to run', async () => {
    const dir = tempDir();
    const slack = await receiver();
    const file = writePlan(dir, {
      version: 1,
      name: 'gated',
      notify: [{ slack: slack.url, events: ['run.started', 'run.awaiting-approval'] }],
      stages: [{ name: 'core', approval: { approvers: 2, from: ['alice', 'bob', 'carol'] } }],
      services: { db: { stage: 'core', start: ['true'] } },
    });
    const result = await runCli(['apply', file], { timeoutMs: 60_000 });
    expect(result.code, result.stderr).toBe(EXIT.awaitingApproval);
    expect(slack.received).toHaveLength(2);
    const [started, gate] = slack.received.map((r) => r.body) as {
      text: string;
      blocks: { type: string; text?: { type: string; text: string }; elements?: { text: string }[] }[];
    }[];
    expect(started!.text).toContain('gated: restoration started, 1 service in 1 stage');
    expect(gate!.text).toContain(
      ':raised_hand: gated: stopped before stage core (1 service), which needs approval',
    );
    const section = gate!.blocks.find((b) => b.type === 'section')!.text!;
    expect(section.type).toBe('mrkdwn');
    expect(section.text).toContain('2 approvals needed from alice, bob, carol');
    expect(section.text).toContain(`\`restore approve ${file} --stage core\``);
    expect(section.text).toContain(`\`restore apply ${file} --resume\``);
    const context = gate!.blocks.find((b) => b.type === 'context')!.elements![0]!.text;
    expect(context).toContain('plan `gated`');
    expect(context).toContain('stage `core`');
  });
});

describe('SPEC 12 a dead webhook never slows, fails or blocks the run', () => {
  it('down, 500 and hanging receivers: same result and exit code, notify.failed in the journal and the log, run time within 5%', async () => {
    const [error, hang, good] = [await receiver('error'), await receiver('hang'), await receiver('ok')];
    const down = await downUrl();
    const sinks = [
      { webhook: down },
      { webhook: error.url },
      { slack: hang.url },
      { webhook: good.url, events: ['run.finished'] },
    ];
    // The run's own duration (the journal's run.finished), best of three each way, taken in
    // turns: on a loaded machine, `sleep 1` alone takes from 1.0 to 1.3 s, which moves single
    // runs by more than the 5 % asked for. Services of 2 s each keep a run long enough (6 s) that
    // the suite's other files, running beside this one on two cores, do not decide the verdict.
    const apply = async (notify: boolean) => {
      const dir = tempDir();
      const plan = {
        version: 1,
        name: 'timed',
        ...(notify ? { notify: sinks } : {}),
        services: slowServices(2),
      };
      const started = Date.now();
      const result = await runCli(['apply', writePlan(dir, plan)], { timeoutMs: 90_000 });
      const wall = Date.now() - started;
      expect(result.code, result.stderr).toBe(EXIT.ok);
      const lines = journal(dir, 'timed');
      return { dir, result, wall, lines, finished: lines.find((l) => l.event === 'run.finished')! };
    };
    const runs = { bare: [await apply(false)], notified: [await apply(true)] };
    for (let round = 0; round < 2; round++) {
      runs.bare.push(await apply(false));
      runs.notified.push(await apply(true));
    }
    const best = (list: { finished: Record<string, unknown> }[]) =>
      Math.min(...list.map((run) => run.finished.duration_ms as number));
    const [bare, notified] = [best(runs.bare), best(runs.notified)];
    expect(
      Math.abs(notified - bare) / bare,
      `${notified} ms with dead receivers, ${bare} ms without`,
    ).toBeLessThan(0.05);
    // The end of the run waits at most its 5 s grace for what is still on its way.
    const wall = (list: { wall: number }[]) => Math.min(...list.map((run) => run.wall));
    expect(wall(runs.notified)).toBeLessThan(wall(runs.bare) + 5_000 + 3_000);

    const { dir, result, lines, finished } = runs.notified[0]!;
    expect(finished.result).toBe('succeeded');
    expect(finished.services).toEqual(
      Object.fromEntries(
        Object.entries(runs.bare[0]!.finished.services as Record<string, { result: string }>).map(
          ([name, s]) => [name, expect.objectContaining({ result: s.result })],
        ),
      ),
    );
    expect(good.received.map((r) => r.body.event)).toEqual(['run.finished', 'run.finished', 'run.finished']);
    const failures = lines.filter((l) => l.event === 'notify.failed');
    const of = (sink: number) => failures.filter((l) => l.sink === sink);
    expect(of(0)[0]).toMatchObject({
      kind: 'webhook',
      notified: 'run.started',
      tries: 3,
      error: 'connection refused',
    });
    expect(of(1)[0]).toMatchObject({
      kind: 'webhook',
      notified: 'run.started',
      tries: 3,
      error: 'HTTP 500: broken',
    });
    expect(of(2)[0]).toMatchObject({ kind: 'slack', notified: 'run.started' });
    expect(String(of(2)[0]!.error)).toMatch(/no answer within 5s|given up when the run ended/);
    expect(of(3)).toEqual([]);
    // The URL's path is a credential: a failure names the origin only.
    expect(failures.every((l) => !String(l.target).includes('/hook'))).toBe(true);
    const log = readFileSync(join(dir, '.restore', 'timed', 'runs', `${String(lines[0]!.run)}.log`), 'utf8');
    expect(log).toMatch(/"level":40,[^\n]*"event":"notify.failed"/);
    expect(result.stdout).toContain('notification not delivered: webhook notify[1]');
    expect(result.stdout).not.toContain('/hook');
  }, 240_000);

  it('Ctrl-C during the end-of-run grace ends it at once; the run keeps its result', async () => {
    const dir = tempDir();
    const hang = await receiver('hang');
    const file = writePlan(dir, {
      version: 1,
      name: 'graced',
      notify: [{ webhook: hang.url, events: ['run.finished'] }],
      services: { a: { start: ['true'] } },
    });
    const { child, done } = spawnCli(['apply', file], { timeoutMs: 60_000 });
    await whenOutput(child, 'total restoration time');
    const signalled = Date.now();
    child.kill('SIGINT');
    const result = await done;
    expect(Date.now() - signalled).toBeLessThan(3_000);
    expect(result.code, result.stderr).toBe(EXIT.ok);
    const lines = journal(dir, 'graced');
    expect(lines.find((l) => l.event === 'run.finished')).toMatchObject({ result: 'succeeded' });
    expect(lines.at(-1)).toMatchObject({ event: 'notify.failed', notified: 'run.finished' });
  });
});

describe('SPEC 12 notify: in the plan', () => {
  it('plan shows each sink with its URL cut to the origin and no header value; the digest does not cover notify', async () => {
    const dir = tempDir();
    const without = writePlan(dir, { version: 1, name: 'shown', services: { a: { start: ['true'] } } });
    const plain = await runCli(['plan', without, '--format', 'json']);
    const withDir = tempDir();
    const file = writePlan(withDir, {
      version: 1,
      name: 'shown',
      notify: [
        {
          webhook: 'https://hooks.example.com/restore/${HOOK_TOKEN}',
          headers: { Authorization: 'Bearer ${HOOK_TOKEN}' },
        },
        { slack: 'https://hooks.slack.com/services/T000/B000/xyz' },
      ],
      services: { a: { start: ['true'] } },
    });
    for (const format of ['text', 'markdown', 'json']) {
      const shown = await runCli(['plan', file, '--format', format], { env });
      expect(shown.code, shown.stderr).toBe(EXIT.ok);
      expect(shown.stdout).toContain('https://hooks.example.com/[REDACTED]');
      expect(shown.stdout).toContain('https://hooks.slack.com/[REDACTED]');
      expect(shown.stdout).not.toContain(TOKEN);
      expect(shown.stdout).not.toContain('/services/T000');
    }
    const json = JSON.parse((await runCli(['plan', file, '--format', 'json'], { env })).stdout) as {
      digest: string;
      notify: { kind: string; headers: Record<string, string> }[];
    };
    expect(json.notify[0]!.headers).toEqual({ Authorization: '[REDACTED]' });
    expect(json.digest).toBe((JSON.parse(plain.stdout) as { digest: string }).digest);
  });

  it('bad input: a URL that is not http(s), an unknown event (with a hint), an unset header variable: exit 1 with line and column', async () => {
    const dir = tempDir();
    const file = writeFile(
      dir,
      'plan.yaml',
      [
        'version: 1',
        'name: bad',
        'notify:',
        '  - webhook: ftp://hooks.example.com/restore',
        '  - slack: https://hooks.slack.com/services/x',
        '    events: [stage.start, run.finished]',
        '  - webhook: https://hooks.example.com/a',
        '    headers: { Authorization: "Bearer ${NO_SUCH_TOKEN_SET}" }',
        'services:',
        '  a: { start: "true" }',
        '',
      ].join('\n'),
    );
    const result = await runCli(['validate', file, '--format', 'json'], {
      env: { NO_SUCH_TOKEN_SET: undefined },
    });
    expect(result.code).toBe(EXIT.invalid);
    expect(hasStackTrace(result.stderr)).toBe(false);
    const diagnostics = JSON.parse(result.stdout) as {
      line: number;
      column: number;
      code: string;
      message: string;
      hint?: string;
    }[];
    expect(diagnostics).toEqual([
      expect.objectContaining({
        line: 4,
        column: 14,
        code: 'invalid-value',
        message: expect.stringContaining('not ftp://'),
      }),
      expect.objectContaining({
        line: 6,
        column: 14,
        code: 'invalid-value',
        message: expect.stringContaining('"stage.start" is not a journal event name'),
        hint: 'did you mean "stage.started"?',
      }),
      expect.objectContaining({ line: 8, column: 31, code: 'unset-variable' }),
    ]);
    const applied = await runCli(['apply', file], { env: { NO_SUCH_TOKEN_SET: undefined } });
    expect(applied.code).toBe(EXIT.invalid);
  });
});

describe('SPEC 12 restore notify test', () => {
  it('sends one test message to each sink and reports each: ok, the status, off; exit 3 when one failed', async () => {
    const dir = tempDir();
    const [good, slack, error] = [await receiver('ok'), await receiver('ok'), await receiver('error')];
    const file = writePlan(dir, {
      version: 1,
      name: 'tested',
      notify: [
        { webhook: good.url, headers: { Authorization: 'Bearer ${HOOK_TOKEN}' } },
        { slack: slack.url },
        { webhook: error.url },
        { webhook: '${NOT_SET_ANYWHERE:-}' },
      ],
      services: { a: { start: ['true'] } },
    });
    const result = await runCli(['notify', 'test', file], { env, timeoutMs: 60_000 });
    expect(result.code, result.stderr).toBe(EXIT.failed);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^notify\[0\] {2}webhook +http:\/\/127\.0\.0\.1:\d+ {2}ok \(HTTP 200, 1 try/);
    expect(lines[1]).toMatch(/^notify\[1\] {2}slack +http:\/\/127\.0\.0\.1:\d+ {2}ok \(HTTP 200/);
    expect(lines[2]).toMatch(
      /^notify\[2\] {2}webhook +http:\/\/127\.0\.0\.1:\d+ {2}FAILED \(3 tries, .*\): HTTP 500: broken$/,
    );
    expect(lines[3]).toContain('off');
    expect(result.stdout).not.toContain('/hook');
    expect(good.received).toHaveLength(1);
    expect(good.received[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(good.received[0]!.body).toMatchObject({ event: 'notify.test', plan: 'tested' });
    expect(slack.received[0]!.body.text).toContain('test message from restore notify test');
    expect(error.requests).toBe(3);

    const okOnly = writeFile(
      dir,
      'ok.yaml',
      JSON.stringify({
        version: 1,
        name: 'ok',
        notify: [{ webhook: good.url }],
        services: { a: { start: ['true'] } },
      }),
    );
    const passed = await runCli(['notify', 'test', okOnly, '--format', 'json']);
    expect(passed.code, passed.stderr).toBe(EXIT.ok);
    expect(JSON.parse(passed.stdout)).toEqual([
      expect.objectContaining({ sink: 0, kind: 'webhook', state: 'delivered', status: 200, tries: 1 }),
    ]);
  });
});

describe('SPEC 12 the demo sends its progress to a local receiver', () => {
  it('DEMO_NOTIFY_URL points the demo plan at scripts/demo-receiver.mjs, which prints each message', async () => {
    const [port] = await freePorts(1);
    const receiverProcess = spawn(
      process.execPath,
      [join(ROOT, 'scripts', 'demo-receiver.mjs'), String(port)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      let printed = '';
      receiverProcess.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        printed += chunk;
      });
      await whenOutput(receiverProcess, 'listening');
      // Stage "data" needs an approval: off a terminal the run stops there (exit 4), nothing started.
      const result = await runCli(['apply', 'plans/demo.yaml'], {
        env: { DEMO_NOTIFY_URL: `http://127.0.0.1:${port}/`, RESTORE_STATE_DIR: tempDir() },
        timeoutMs: 60_000,
      });
      expect(result.code, result.stderr).toBe(EXIT.awaitingApproval);
      await expect.poll(() => printed, { timeout: 10_000 }).toContain('run.finished');
      expect(printed).toContain('run.started: demo: restoration started, 4 services in 2 stages');
      expect(printed).toContain('run.awaiting-approval: demo: stopped before stage data (2 services)');
      expect(printed).toContain(
        'next: anyone may approve: restore apply plans/demo.yaml --resume --approve data',
      );
    } finally {
      receiverProcess.kill('SIGTERM');
    }
  });
});

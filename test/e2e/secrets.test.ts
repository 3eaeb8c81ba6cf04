import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { type CliResult, hasStackTrace, runCli } from '../helpers/cli.js';
import { freePorts } from '../helpers/ports.js';
import { useTempDir, writeFile } from '../helpers/tmp.js';

const tempDir = useTempDir();

const servers: (Server | TcpServer)[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((server) => new Promise((resolve) => server.close(() => resolve(undefined)))),
  );
});

/**
 * An HTTP server that gives back what it was sent where a check's detail quotes it: every request
 * is redirected (not followed, so the detail names the target) to a URL holding the request's
 * Authorization header; `/plain` answers 200 with a body that lacks what checks look for.
 */
async function echoServer(): Promise<number> {
  const server = createHttpServer((req, res) => {
    if (req.url === '/plain') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('nothing to see');
      return;
    }
    res.writeHead(302, { location: `/a?${req.headers.authorization ?? ''}` });
    res.end();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

async function tcpServer(): Promise<number> {
  const server = createTcpServer((socket) => socket.destroy());
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

/**
 * Whether output shows a secret, as it is or escaped by a format: JSON and Markdown put
 * backslashes before some characters, shell quoting puts quotes around and inside a word.
 */
function shows(text: string, secret: string): boolean {
  const bare = (s: string) => s.replace(/[\\'"]/g, '');
  return text.includes(secret) || bare(text).includes(bare(secret));
}

function expectHidden(result: CliResult, secrets: readonly string[], what: string): void {
  expect(hasStackTrace(result.stderr), `${what}: ${result.stderr}`).toBe(false);
  for (const secret of secrets) {
    expect(shows(result.stdout, secret), `${what} stdout shows ${secret}:\n${result.stdout}`).toBe(false);
    expect(shows(result.stderr, secret), `${what} stderr shows ${secret}:\n${result.stderr}`).toBe(false);
  }
}

const PLAN_FORMATS = ['text', 'markdown', 'json', 'mermaid', 'dot'] as const;

/** A valid plan with the secret `DB_PASSWORD` in every field it can reach, and `DB_PORT` as a port. */
function everyField(http: number, openPort: number, literal: string) {
  return {
    version: 1,
    name: 'secrets',
    // Written out rather than named: it is hidden all the same.
    description: `every field, even the description: ${literal}`,
    secrets: ['DB_PASSWORD', 'DB_PORT'],
    hosts: {
      db: {
        address: 'db-${DB_PASSWORD}.invalid',
        user: 'ops-${DB_PASSWORD}',
        identity_file: '~/.ssh/${DB_PASSWORD}',
        ssh_options: { ProxyJump: 'jump-${DB_PASSWORD}.invalid' },
      },
    },
    services: {
      remote: {
        host: 'db',
        start: 'systemctl start ${DB_PASSWORD}',
        health: { checks: [{ tcp: { port: 5432 } }], timeout: '1s' },
      },
      web: {
        start: {
          run: 'serve --password ${DB_PASSWORD} --url postgres://app:${DB_PASSWORD}@db/app',
          cwd: '/srv/${DB_PASSWORD}',
          env: { DATABASE_URL: 'postgres://app:${DB_PASSWORD}@127.0.0.1/app', TOKEN: '${DB_PASSWORD}' },
          daemon: true,
        },
        stop: ['kill-it', '--token=${DB_PASSWORD}'],
        health: {
          checks: [
            {
              http: {
                url: `http://127.0.0.1:${http}/login/\${DB_PASSWORD}`,
                headers: { Authorization: 'Bearer ${DB_PASSWORD}' },
                status: 200,
              },
            },
            { http: { url: `http://127.0.0.1:${http}/plain`, body_contains: 'token ${DB_PASSWORD}' } },
            { tcp: { host: 'db-${DB_PASSWORD}.invalid', port: '${DB_PORT}' } },
            { tcp: { port: openPort } },
            {
              exec: {
                run: [
                  process.execPath,
                  '-e',
                  "console.error('denied for ' + process.argv[1]); process.exit(1)",
                  'user:${DB_PASSWORD}',
                ],
                env: { PGPASSWORD: '${DB_PASSWORD}' },
              },
            },
            { exec: { run: 'true', cwd: '/nonexistent/${DB_PASSWORD}' } },
            {
              exec: [
                process.execPath,
                '-e',
                "console.error('x'.repeat(195) + process.argv[1]); process.exit(1)",
                '${DB_PASSWORD}',
              ],
            },
          ],
          timeout: '1s',
        },
      },
    },
  };
}

/** Every output of the CLI for a plan: validate, plan in each format with and without --live, apply --dry-run. */
async function everyOutput(dir: string, env: Record<string, string>): Promise<[string, CliResult][]> {
  const run = async (args: string[]): Promise<[string, CliResult]> => [
    args.join(' '),
    await runCli(args, { cwd: dir, env }),
  ];
  const outputs: [string, CliResult][] = [];
  for (const format of ['text', 'json', 'github'])
    outputs.push(await run(['validate', 'plan.yaml', '--format', format]));
  for (const format of PLAN_FORMATS) {
    outputs.push(await run(['plan', 'plan.yaml', '--format', format]));
    outputs.push(await run(['plan', 'plan.yaml', '--format', format, '--live']));
  }
  outputs.push(await run(['apply', 'plan.yaml', '--dry-run']));
  outputs.push(await run(['apply', 'plan.yaml', '--dry-run', '--log-format', 'json']));
  return outputs;
}

// Each test runs the CLI a dozen times or more, one after another.
describe('SPEC 5 nothing secret is ever written: validate, plan and apply print no secret value', {
  timeout: 120_000,
}, () => {
  it('a secret in every field of a valid plan shows as ${NAME} or [REDACTED] in every format, --live too', async () => {
    const dir = tempDir();
    const [http, openPort, closedPort] = [await echoServer(), await tcpServer(), (await freePorts(1))[0]!];
    const secret = 'Sup3r.S3cr3t-Val_ue';
    writeFile(dir, 'plan.yaml', JSON.stringify(everyField(http, openPort, secret)));
    const port = String(closedPort);
    const outputs = await everyOutput(dir, { DB_PASSWORD: secret, DB_PORT: port });
    for (const [what, result] of outputs) {
      expect(result.code, `${what}: ${result.stderr}`).toBe(EXIT.ok);
      expectHidden(result, [secret, port, secret.slice(0, 5)], what);
    }
    const get = (what: string) => outputs.find(([w]) => w === what)![1].stdout;

    // The preview writes each secret as its name; what --live found says [REDACTED].
    expect(get('plan plan.yaml --format text')).toContain(
      "DATABASE_URL='postgres://app:${DB_PASSWORD}@127.0.0.1/app'",
    );
    expect(get('plan plan.yaml --format text')).toContain('ops-${DB_PASSWORD}@db-${DB_PASSWORD}.invalid');
    expect(get('plan plan.yaml --format text')).toContain('every field, even the description: [REDACTED]');
    const live = get('plan plan.yaml --format json --live');
    const web = (
      JSON.parse(live) as { stages: { services: { name: string; live: { detail: string } }[] }[] }
    ).stages
      .flatMap((stage) => stage.services)
      .find((service) => service.name === 'web')!.live.detail;
    // Each failing check was probed with the real value, and its detail redacted.
    expect(web).toContain('http GET http://127.0.0.1:');
    expect(web).toContain('/login/[REDACTED]');
    expect(web).toContain('redirect to /a?Bearer [REDACTED], not followed');
    // body_contains takes no variables: the needle is the text as written.
    expect(web).toContain('does not contain "token ${DB_PASSWORD}"');
    expect(web).toContain('tcp db-[REDACTED].invalid:[REDACTED]');
    expect(web).toContain('denied for user:[REDACTED]');
    // A line cut to fit the detail inside the secret hides the secret's beginning too.
    expect(web).toContain(`exit 1: ${'x'.repeat(195)}[REDACTED]…`);
    expect(web).toContain('/nonexistent/[REDACTED]');
    // Markdown escapes the brackets.
    expect(get('plan plan.yaml --format markdown --live')).toContain('user:\\[REDACTED\\]');
    expect(get('plan plan.yaml --format text --live')).toContain('denied for user:[REDACTED]');
  });

  it('a secret that is a regular expression is hidden literally, escaped by JSON, Markdown or a shell quote', async () => {
    const dir = tempDir();
    const http = await echoServer();
    const secret = 'a.b*c+d(e)[f]{g}|h^i$j\\k"l\'m';
    writeFile(
      dir,
      'plan.yaml',
      JSON.stringify({
        version: 1,
        name: 'regex',
        secrets: ['API_TOKEN'],
        services: {
          api: {
            start: { run: 'serve --token ${API_TOKEN}', env: { TOKEN: '${API_TOKEN}' } },
            health: {
              checks: [
                { http: { url: `http://127.0.0.1:${http}/x`, headers: { Authorization: '${API_TOKEN}' } } },
                { http: { url: `http://127.0.0.1:${http}/plain`, body_contains: '${API_TOKEN}' } },
                {
                  exec: [
                    process.execPath,
                    '-e',
                    'console.error(process.argv[1]); process.exit(1)',
                    '${API_TOKEN}',
                  ],
                },
              ],
              timeout: '1s',
            },
          },
        },
      }),
    );
    for (const [what, result] of await everyOutput(dir, { API_TOKEN: secret })) {
      expect(result.code, `${what}: ${result.stderr}`).toBe(EXIT.ok);
      expectHidden(result, [secret], what);
    }
    // Text that merely looks like the pattern is left alone.
    const result = await runCli(['plan', 'plan.yaml', '--live'], { cwd: dir, env: { API_TOKEN: secret } });
    expect(result.stdout).toContain('redirect to /a?[REDACTED]');
    expect(result.stdout).toContain('exit 1: [REDACTED]');
  });

  it('an invalid plan whose diagnostics quote a secret: validate, plan and apply redact them', async () => {
    const dir = tempDir();
    const secret = 'p@ss w0rd\\"x';
    // `bogus` makes the plan fail its schema, so its secrets are read leniently.
    writeFile(
      dir,
      'plan.yaml',
      [
        'version: 1',
        'name: invalid',
        'secrets: [DB_PASSWORD]',
        'bogus: true',
        'hosts:',
        '  db: { address: "${DB_PASSWORD}", user: "ops ${DB_PASSWORD}" }',
        'services:',
        '  api:',
        '    host: db',
        '    start: run',
        '    health:',
        '      - tcp: { port: "${DB_PASSWORD}" }',
        '      - http: { url: "${DB_PASSWORD}" }',
        '',
      ].join('\n'),
    );
    const env = { DB_PASSWORD: secret };
    const run = (args: string[]) => runCli(args, { cwd: dir, env });
    const outputs: [string, CliResult][] = [];
    for (const format of ['text', 'json', 'github'])
      outputs.push([format, await run(['validate', 'plan.yaml', '--format', format])]);
    for (const format of PLAN_FORMATS)
      outputs.push([format, await run(['plan', 'plan.yaml', '--format', format])]);
    outputs.push(['plan --live', await run(['plan', 'plan.yaml', '--live'])]);
    outputs.push(['apply --dry-run', await run(['apply', 'plan.yaml', '--dry-run'])]);
    outputs.push(['apply', await run(['apply', 'plan.yaml', '--state-dir', 'state', '--yes'])]);
    for (const [what, result] of outputs) {
      expect(result.code, what).toBe(EXIT.invalid);
      expectHidden(result, [secret, 'p@ss w0rd'], what);
    }
    const json = JSON.parse(outputs[1]![1].stdout) as { code: string; message: string }[];
    const messages = json.map((d) => d.message);
    expect(messages).toContain(
      'services.api.health[0].tcp.port: "[REDACTED]" is not a port number (1-65535)',
    );
    expect(messages).toContain('hosts.db.user: "ops [REDACTED]" is not a user name');
    expect(messages.some((m) => m.includes('"[REDACTED]" is not a host name or address'))).toBe(true);
    expect(messages.some((m) => m.includes('"[REDACTED]" is not an http:// or https:// URL'))).toBe(true);
    expect(outputs.at(-1)![1].stderr).toContain('"[REDACTED]" is not a port number');
  });

  it('values of one or two characters are not redacted in text, yet the preview shows their names', async () => {
    const dir = tempDir();
    writeFile(
      dir,
      'plan.yaml',
      JSON.stringify({
        version: 1,
        name: 'short',
        description: 'a plan about 7x',
        secrets: ['PIN'],
        services: { api: { start: { run: 'serve', env: { PIN: '${PIN}' } } } },
      }),
    );
    const result = await runCli(['plan', 'plan.yaml'], { cwd: dir, env: { PIN: '7x' } });
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toContain("PIN='${PIN}'");
    expect(result.stdout).toContain('a plan about 7x');
    expect(result.stdout).not.toContain('[REDACTED]');
  });
});

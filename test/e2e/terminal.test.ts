import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { BIN } from '../helpers/cli.js';
import { useWorkDirs } from '../helpers/e2e.js';
import { writeFile } from '../helpers/tmp.js';

const workDir = useWorkDirs();

/** Runs `restore apply` on a real pseudo-terminal (util-linux `script`) of the given size. */
function applyOnTerminal(dir: string, size: string): Promise<{ code: number | null; output: string }> {
  const command = `stty ${size}; exec ${process.execPath} ${BIN} apply plan.yaml --state-dir state`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd: dir,
    env: {
      ...process.env,
      TERM: 'xterm-256color',
      NO_COLOR: '1',
      FORCE_COLOR: undefined as unknown as string,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end();
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    }),
  );
}

const plan = {
  version: 1,
  name: 'tty',
  services: { first: { start: 'true' }, second: { depends_on: ['first'], start: 'true' } },
};

// util-linux's `script` gives the CLI a real pseudo-terminal (.ci/run installs util-linux).
describe('SPEC 3 Output: apply on a terminal', () => {
  it('a terminal of size 0 gets every step as a plain line', async () => {
    const dir = workDir();
    writeFile(dir, 'plan.yaml', JSON.stringify(plan));
    const { code, output } = await applyOnTerminal(dir, 'rows 0 cols 0');
    expect(code, output).toBe(EXIT.ok);
    expect(output).toMatch(/first\s+starting/);
    expect(output).toMatch(/second\s+healthy\s+in \S+ \(no checks/);
  });

  it('a sized terminal gets the live view', async () => {
    const dir = workDir();
    writeFile(dir, 'plan.yaml', JSON.stringify(plan));
    const { code, output } = await applyOnTerminal(dir, 'rows 30 cols 100');
    expect(code, output).toBe(EXIT.ok);
    expect(output).toContain('stage wave-2');
    expect(output).toMatch(/elapsed \d/);
    expect(output).not.toMatch(/second\s+healthy\s+in \S+ \(no checks/);
  });
});

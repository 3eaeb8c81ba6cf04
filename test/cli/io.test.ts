import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { redactingIo } from '../../src/cli/io.js';
import { REDACTED } from '../../src/run/redact.js';

/** A real stream standing for a terminal, and what was written to it. */
function terminal() {
  const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 120 });
  let written = '';
  stream.on('data', (chunk: Buffer) => {
    written += chunk.toString('utf8');
  });
  return { stream, written: () => written };
}

describe('SPEC 5 every write of a command goes through one redaction', () => {
  it('hides the values it is given from then on, in strings and bytes, on stdout and stderr', async () => {
    const out = terminal();
    const err = terminal();
    const io = redactingIo({
      stdout: out.stream,
      stderr: err.stream,
      env: {},
      cwd: '/',
      stdin: process.stdin,
    });
    io.stdout.write('before: hunter22\n');
    io.hide(['hunter22']);
    io.stdout.write('after: hunter22\n');
    (io.stdout as PassThrough).write(Buffer.from('bytes: hunter22\n'));
    io.stderr.write('postgres://app:hunter22@db/app\n');
    io.hide(['ab']);
    io.stderr.write('ab stays\n');
    await new Promise((resolve) => setImmediate(resolve));
    expect(out.written()).toBe(`before: hunter22\nafter: ${REDACTED}\nbytes: ${REDACTED}\n`);
    expect(err.written()).toBe(`postgres://app:${REDACTED}@db/app\nab stays\n`);
    expect(io.redactor.values).toEqual(['hunter22']);
  });

  it('is still the stream for a terminal view: its size, its events and write callbacks', async () => {
    const out = terminal();
    const io = redactingIo({
      stdout: out.stream,
      stderr: out.stream,
      env: {},
      cwd: '/',
      stdin: process.stdin,
    });
    const stream = io.stdout as unknown as PassThrough & { isTTY: boolean; columns: number };
    expect(stream.isTTY).toBe(true);
    expect(stream.columns).toBe(120);
    let resized = false;
    stream.on('resize', () => {
      resized = true;
    });
    out.stream.emit('resize');
    expect(resized).toBe(true);
    await new Promise((resolve) => stream.write('x\n', 'utf8', resolve));
  });
});

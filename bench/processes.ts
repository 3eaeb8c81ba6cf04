import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';

/** Helpers for the benchmarks that watch live processes (timing and memory of `apply`). */

/** Whether something accepts a connection on 127.0.0.1:port now. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Resolves once something accepts connections on 127.0.0.1:port, polling every `everyMs`. */
export async function waitForPort(port: number, everyMs = 5, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await portOpen(port)) return;
    if (Date.now() > until) throw new Error(`nothing listened on port ${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Peak resident memory (VmHWM) of a process, in MiB; undefined once it is gone. */
export function peakRssMiB(pid: number): number | undefined {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Children of a process whose command line contains `marker`. */
export function childrenWith(parent: number, marker: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker))
        out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

export interface Watched {
  code: number | null;
  stdout: string;
  wallMs: number;
  /** Peak RSS of restore itself and of its spawner helper, MiB. */
  restoreMiB: number;
  helperMiB: number;
}

/** Runs a command to completion, sampling the peak RSS of it and of its spawner helper. */
export function runWatched(command: string, args: string[], cwd: string): Promise<Watched> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child: ChildProcess = spawn(command, args, {
      cwd,
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let stdout = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    let restoreMiB = 0;
    let helperMiB = 0;
    const sample = () => {
      if (child.pid === undefined) return;
      restoreMiB = Math.max(restoreMiB, peakRssMiB(child.pid) ?? 0);
      for (const helper of childrenWith(child.pid, 'spawner-main'))
        helperMiB = Math.max(helperMiB, peakRssMiB(helper) ?? 0);
    };
    const timer = setInterval(sample, 50);
    child.on('error', reject);
    child.on('exit', () => sample());
    child.on('close', (code) => {
      clearInterval(timer);
      resolve({ code, stdout, wallMs: performance.now() - started, restoreMiB, helperMiB });
    });
  });
}

import { chmodSync } from 'node:fs';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { type Sshd, startSshd } from '../../bench/sshd.js';
import { killAllWith } from './processes.js';

// The real sshd of the end-to-end tests lives with the benchmarks, which start one too.
export { type Sshd, startSshd, TEST_USER } from '../../bench/sshd.js';

/**
 * A real sshd on 127.0.0.1 for the tests of the file or `describe` block that calls this: started
 * before them, stopped after them. Returns the server (once started).
 */
export function useSshd(): () => Sshd {
  let sshd: Sshd | undefined;
  beforeAll(async () => {
    sshd = await startSshd();
  }, 30_000);
  afterAll(async () => {
    await sshd?.stop();
  });
  return () => {
    if (!sshd) throw new Error('the test sshd is not started (useSshd runs in beforeAll)');
    return sshd;
  };
}

/**
 * Work directories of `tempDir` that the remote user can read and write too (the test host is this
 * machine). Each path marks the processes a test starts there, here or on the host: what is left
 * of them is killed after each test.
 */
export function useRemoteWorkDirs(tempDir: () => string): () => string {
  const markers: string[] = [];
  afterEach(() => {
    for (const marker of markers.splice(0)) killAllWith(marker);
  });
  return () => {
    const dir = tempDir();
    chmodSync(dir, 0o777);
    markers.push(dir);
    return dir;
  };
}

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOnly, selectServices } from '../../plan/select.js';
import { renderCheck } from '../../report/check/formats.js';
import { colorsFor } from '../../report/style.js';
import { preflight } from '../../run/engine/preflight.js';
import { checkThisMachine } from '../../run/engine/preflight-state.js';
import { Places } from '../../run/places/places.js';
import { directLauncher } from '../../run/places/process/launch.js';
import { UsageError } from '../errors.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { CheckFormat } from '../format-names.js';
import type { Io } from '../io.js';
import { useStateDir } from '../state-dir.js';
import { loadOrFail } from './load-or-fail.js';

export interface CheckOptions {
  format: CheckFormat;
  only: string[];
  stateDir?: string;
}

/**
 * `restore check <plan>` (SPEC section 8): the read-only preflight. Exit 0 when no finding is an
 * error, 3 when one is, 1 for an invalid plan. Writes nothing but its output: the state dir is
 * looked at, never created, and the hosts' shared ssh connections live in a private temporary
 * directory, removed before it returns.
 */
export async function runCheck(file: string, options: CheckOptions, io: Io): Promise<ExitCode> {
  const loaded = await loadOrFail(file, io);
  const only = parseOnly(options.only);
  let plan = loaded.plan;
  if (only.length > 0) {
    const selected = selectServices(plan, only);
    if (!selected.ok) throw new UsageError(selected.error);
    plan = selected.value;
  }
  const stateDir = useStateDir(options.stateDir, file, io).dir;
  const dir = Object.keys(plan.hosts).length > 0 ? mkdtempSync(join(tmpdir(), 'restore-check-')) : undefined;
  const places = new Places({
    plan,
    planDir: loaded.dir,
    secrets: loaded.secretValues,
    launcher: directLauncher,
    ...(dir !== undefined ? { sshControlDir: dir } : {}),
  });
  let findings: Awaited<ReturnType<typeof preflight>>;
  try {
    findings = await preflight(plan, places, { thisMachine: () => checkThisMachine(stateDir, plan.name) });
  } finally {
    await places.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
  io.stdout.write(renderCheck(options.format, file, findings, colorsFor(io.stdout, io.env), io.redactor));
  return findings.some((finding) => finding.level === 'error') ? EXIT.failed : EXIT.ok;
}

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOnly, selectServices } from '../../plan/select.js';
import { type PlanFormat, renderPlan } from '../../report/plan/formats.js';
import { colorsFor } from '../../report/style.js';
import type { LiveStatus } from '../../run/engine/live.js';
import { UsageError } from '../errors.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Io } from '../io.js';
import { loadOrFail } from './load-or-fail.js';

export interface PlanOptions {
  format: PlanFormat;
  only: string[];
  live?: boolean;
}

/** `restore plan <plan>`: the dry-run preview. Runs nothing. */
export async function runPlan(file: string, options: PlanOptions, io: Io): Promise<ExitCode> {
  const loaded = await loadOrFail(file, io);
  const only = parseOnly(options.only);
  let plan = loaded.display;
  if (only.length > 0) {
    const selected = selectServices(plan, only);
    if (!selected.ok) throw new UsageError(selected.error);
    plan = selected.value;
  }
  let live: Record<string, LiveStatus> | undefined;
  if (options.live) {
    const [{ probeLive }, { Places }, { directLauncher }] = await Promise.all([
      import('../../run/engine/live.js'),
      import('../../run/places/places.js'),
      import('../../run/places/process/launch.js'),
    ]);
    const selected = only.length > 0 ? selectServices(loaded.plan, only) : undefined;
    const probed = selected?.ok ? selected.value : loaded.plan;
    // Remote exec checks share one connection per host, in a private directory of its own.
    const dir =
      Object.keys(probed.hosts).length > 0 ? mkdtempSync(join(tmpdir(), 'restore-live-')) : undefined;
    const places = new Places({
      plan: probed,
      planDir: loaded.dir,
      secrets: loaded.secretValues,
      launcher: directLauncher,
      ...(dir !== undefined ? { sshControlDir: dir } : {}),
    });
    try {
      live = await probeLive(probed, places);
    } finally {
      await places.close();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    }
  }
  const view = { file, plan, digest: loaded.digest, only, ...(live ? { live } : {}) };
  io.stdout.write(renderPlan(options.format, view, colorsFor(io.stdout, io.env), io.redactor));
  return EXIT.ok;
}

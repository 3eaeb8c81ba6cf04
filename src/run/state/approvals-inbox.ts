import { randomBytes } from 'node:crypto';
import { closeSync, constants, fsyncSync, linkSync, lstatSync, openSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from '../../plan/digest.js';
import { APPROVER_PATTERN } from '../../plan/schema.js';
import type { PlanState } from './state-dir.js';
import {
  checkStateDirectory,
  ensureStateDirectory,
  errnoOf,
  openStateFile,
  readStateFile,
  unusable,
  writeAll,
} from './state-files.js';

/**
 * The approvals inbox (SPEC section 9): `restore approve` drops one file per approval, and `apply`
 * reads them at a gate, waiting or not. One file per name, `<plan state>/approvals/<run>/<stage>/
 * <name>.json`, put in place by link(2), which fails when the name exists: two `approve` of the
 * same name at once record one, two names at once record both, and `apply` never sees half a file
 * (it is written and flushed under a temporary name first). Nothing is ever rewritten or deleted.
 */

/** What `restore approve` signs and `apply` verifies: everything an approval says, but the signature. */
export interface ApprovalRecord {
  run: string;
  stage: string;
  /** The digest of the plan the run applies: an approval never carries over to a changed plan. */
  digest: string;
  approver: string;
  /** When it was given, ISO 8601 (UTC). */
  time: string;
  comment: string | null;
}

export interface InboxApproval extends ApprovalRecord {
  /** Armored OpenSSH signature (`-----BEGIN SSH SIGNATURE-----`) over `canonicalRecord`; or null. */
  signature: string | null;
}

/** The ssh-keygen namespace of approval signatures: a signature made for anything else never counts. */
export const APPROVAL_NAMESPACE = 'restore-approval';

/**
 * The bytes that are signed: the record as canonical JSON (keys sorted, no white space, UTF-8, no
 * newline), e.g. `{"approver":"alice","comment":null,"digest":"sha256:…","run":"…","stage":"core","time":"…"}`.
 */
export function canonicalRecord(record: ApprovalRecord): string {
  const { run, stage, digest, approver, time, comment } = record;
  return canonicalJson({ approver, comment, digest, run, stage, time });
}

export const isApproverName = (name: string): boolean => new RegExp(APPROVER_PATTERN).test(name);

const inboxDir = (state: PlanState) => join(state.root, 'approvals');
const stageDir = (state: PlanState, run: string, stage: string) => join(inboxDir(state), run, stage);

/** Records one approval; false when that name has already approved that stage of that run. */
export function depositApproval(state: PlanState, approval: InboxApproval): boolean {
  const dir = stageDir(state, approval.run, approval.stage);
  for (const d of [inboxDir(state), join(inboxDir(state), approval.run), dir]) ensureStateDirectory(d);
  const temp = join(dir, `.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openStateFile(temp, 'create');
  try {
    try {
      writeAll(fd, `${JSON.stringify(approval)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(temp, join(dir, `${approval.approver}.json`));
    } catch (error) {
      if (errnoOf(error) === 'EEXIST') return false;
      throw error;
    }
    syncDirectory(dir);
    return true;
  } finally {
    rmSync(temp, { force: true });
  }
}

/** The new name is on disk before `approve` says it recorded the approval. */
function syncDirectory(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A file of the inbox that is not an approval of this stage of this run (hand-made, tampered). */
export interface InboxProblem {
  approver: string;
  problem: string;
}

/** The approvals of a stage of a run, in the order their names sort; files that are not one apart. */
export function readApprovals(
  state: PlanState,
  run: string,
  stage: string,
): { approvals: InboxApproval[]; problems: InboxProblem[] } {
  const dir = stageDir(state, run, stage);
  let names: string[];
  try {
    lstatSync(dir);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return { approvals: [], problems: [] };
    throw error;
  }
  // A directory of someone else's, or a link in the place of one, is refused as any state is.
  for (const d of [inboxDir(state), join(inboxDir(state), run), dir]) checkStateDirectory(d);
  try {
    names = readdirSync(dir);
  } catch (error) {
    throw unusable(dir, error);
  }
  const approvals: InboxApproval[] = [];
  const problems: InboxProblem[] = [];
  for (const name of names.sort()) {
    if (name.startsWith('.') || !name.endsWith('.json')) continue;
    const approver = name.slice(0, -'.json'.length);
    const parsed = parseApproval(readStateFile(join(dir, name)) ?? '');
    if (!parsed) problems.push({ approver, problem: 'not an approval record' });
    else if (parsed.approver !== approver || parsed.run !== run || parsed.stage !== stage)
      problems.push({ approver, problem: 'its record names another approver, run or stage' });
    else approvals.push(parsed);
  }
  return { approvals, problems };
}

function parseApproval(text: string): InboxApproval | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  const strings = ['run', 'stage', 'digest', 'approver', 'time'] as const;
  if (!strings.every((key) => typeof v[key] === 'string')) return undefined;
  if (v.comment !== null && typeof v.comment !== 'string') return undefined;
  if (v.signature !== null && typeof v.signature !== 'string') return undefined;
  return {
    run: v.run as string,
    stage: v.stage as string,
    digest: v.digest as string,
    approver: v.approver as string,
    time: v.time as string,
    comment: v.comment as string | null,
    signature: v.signature as string | null,
  };
}

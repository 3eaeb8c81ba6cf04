import { mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  canonicalRecord,
  depositApproval,
  type InboxApproval,
  readApprovals,
} from '../../src/run/state/approvals-inbox.js';
import { ensurePlanState } from '../../src/run/state/state-dir.js';
import { useTempDir } from '../helpers/tmp.js';

const tempDir = useTempDir();

const approval = (approver: string, extra: Partial<InboxApproval> = {}): InboxApproval => ({
  run: 'r1',
  stage: 'core',
  digest: 'sha256:abc',
  approver,
  time: '2026-12-02T00:00:00.000Z',
  comment: null,
  signature: null,
  ...extra,
});

describe('SPEC 9 the approvals inbox', () => {
  it('one file per name: a second approval under a name is refused, the first kept as it was', () => {
    const state = ensurePlanState(tempDir(), 'p');
    expect(depositApproval(state, approval('alice', { comment: 'first' }))).toBe(true);
    expect(depositApproval(state, approval('alice', { comment: 'second' }))).toBe(false);
    expect(depositApproval(state, approval('bob'))).toBe(true);
    const { approvals, problems } = readApprovals(state, 'r1', 'core');
    expect(approvals.map((a) => [a.approver, a.comment])).toEqual([
      ['alice', 'first'],
      ['bob', null],
    ]);
    expect(problems).toEqual([]);
    const dir = join(state.root, 'approvals', 'r1', 'core');
    // No temporary file is left behind; files 0600, directories 0700.
    expect(readdirSync(dir)).toEqual(['alice.json', 'bob.json']);
    expect(statSync(join(dir, 'alice.json')).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('a stage nobody approved yet has an empty inbox', () => {
    const state = ensurePlanState(tempDir(), 'p');
    expect(readApprovals(state, 'r1', 'core')).toEqual({ approvals: [], problems: [] });
  });

  it('a file whose record names another approver, or is not a record, is set apart', () => {
    const state = ensurePlanState(tempDir(), 'p');
    depositApproval(state, approval('alice'));
    const dir = join(state.root, 'approvals', 'r1', 'core');
    writeFileSync(join(dir, 'bob.json'), JSON.stringify(approval('alice')), { mode: 0o600 });
    writeFileSync(join(dir, 'carol.json'), 'not json', { mode: 0o600 });
    const { approvals, problems } = readApprovals(state, 'r1', 'core');
    expect(approvals.map((a) => a.approver)).toEqual(['alice']);
    expect(problems.map((p) => p.approver)).toEqual(['bob', 'carol']);
  });

  it('a link in place of an inbox directory is refused, never read through', () => {
    const state = ensurePlanState(tempDir(), 'p');
    const elsewhere = join(tempDir(), 'elsewhere');
    mkdirSync(elsewhere, { mode: 0o700 });
    mkdirSync(join(state.root, 'approvals', 'r1'), { recursive: true, mode: 0o700 });
    symlinkSync(elsewhere, join(state.root, 'approvals', 'r1', 'core'));
    expect(() => readApprovals(state, 'r1', 'core')).toThrow(/symbolic link/);
    expect(() => depositApproval(state, approval('alice'))).toThrow(/symbolic link/);
  });

  it('the signed record is canonical JSON: keys sorted, no white space, the signature left out', () => {
    expect(canonicalRecord(approval('alice', { comment: 'go', signature: 'sig' }))).toBe(
      '{"approver":"alice","comment":"go","digest":"sha256:abc","run":"r1","stage":"core","time":"2026-12-02T00:00:00.000Z"}',
    );
  });
});

import { describe, expect, it } from 'vitest';
import { teardownOrder } from '../../src/run/engine/teardown.js';
import type { JournalEntry } from '../../src/run/state/journal/format.js';

/** Journal entries with only what the order reads: the event and its service. */
const entry = (event: string, service: string, extra: Record<string, unknown> = {}) =>
  ({ seq: 0, time: '', run: 'r', hash: '', event, service, stage: 's', ...extra }) as unknown as JournalEntry;

describe('SPEC 10 a drill tears down what it started, in reverse order', () => {
  it('reverse of becoming healthy; one started but never healthy counts from its last start', () => {
    const { order, leftRunning } = teardownOrder([
      entry('service.starting', 'db'),
      entry('service.starting', 'cache'),
      entry('service.healthy', 'cache'),
      entry('service.healthy', 'db'),
      entry('service.already-healthy', 'proxy'),
      entry('service.starting', 'api'),
      entry('service.failed', 'api'),
      entry('service.starting', 'web'),
      entry('service.healthy', 'web'),
    ]);
    expect(order).toEqual(['web', 'api', 'db', 'cache']);
    // Found healthy: the drill did not start it, so it does not stop it.
    expect(leftRunning).toEqual(['proxy']);
  });

  it('what a teardown stopped is not stopped twice; what a resumed drill starts again is', () => {
    const { order } = teardownOrder([
      entry('service.starting', 'db'),
      entry('service.healthy', 'db'),
      entry('service.starting', 'api'),
      entry('service.healthy', 'api'),
      entry('service.torn-down', 'api', { ok: true }),
      entry('service.torn-down', 'db', { ok: false }),
      entry('service.starting', 'api'),
      entry('service.starting', 'web'),
      entry('service.rolled-back', 'web', { ok: true }),
    ]);
    // web was stopped by --on-failure rollback: not a second time.
    expect(order).toEqual(['api', 'db']);
  });
});

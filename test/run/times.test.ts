import { describe, expect, it } from 'vitest';
import { RunTimes } from '../../src/run/times.js';

describe('SPEC 3 Output: one truth for times', () => {
  it("a service's span opens when its first probe round started and closes when it is healthy", () => {
    const times = new RunTimes();
    times.add({ type: 'run.started', time: 1000 });
    times.add({ type: 'service.probe', time: 1050, service: 'db', duration_ms: 30, phase: 'skip-check' });
    times.add({ type: 'service.starting', time: 1051, service: 'db' });
    times.add({ type: 'service.probe', time: 1200, service: 'db', duration_ms: 5, phase: 'verify' });
    expect(times.add({ type: 'service.healthy', time: 1333, service: 'db' })).toBe(1333 - 1020);
    times.add({ type: 'service.blocked', time: 1400, service: 'api' });
    times.add({ type: 'run.finished', time: 1500 });
    expect(times.service('db')).toBe(313);
    expect(times.service('api')).toBe(0);
    expect(times.run()).toBe(500);
  });

  it('a service in flight when the run is interrupted counts until then', () => {
    const times = new RunTimes();
    times.add({ type: 'run.started', time: 0 });
    times.add({ type: 'service.starting', time: 10, service: 'slow' });
    times.add({ type: 'run.interrupted', time: 110 });
    times.add({ type: 'run.finished', time: 120 });
    expect(times.service('slow')).toBe(100);
  });

  it('on resume, a service confirmed healthy keeps its span; one restarted gets a new one; the run is wall time', () => {
    const before = new RunTimes();
    before.add({ type: 'run.started', time: 0 });
    before.add({ type: 'service.starting', time: 10, service: 'db' });
    before.add({ type: 'service.healthy', time: 60, service: 'db' });
    before.add({ type: 'service.starting', time: 70, service: 'app' });
    before.add({ type: 'service.failed', time: 90, service: 'app' });
    before.add({ type: 'run.finished', time: 100 });
    // A new process continues from what the journal says.
    const after = new RunTimes({
      started: 0,
      services: { db: before.service('db'), app: before.service('app') },
    });
    after.add({ type: 'run.resumed', time: 5000 });
    expect(after.add({ type: 'service.healthy', time: 5010, service: 'db' })).toBe(50);
    after.add({ type: 'service.starting', time: 5020, service: 'app' });
    expect(after.add({ type: 'service.healthy', time: 5045, service: 'app' })).toBe(25);
    after.add({ type: 'run.finished', time: 5100 });
    expect(after.run()).toBe(5100);
    expect(after.runUntil(5100)).toBe(5100);
  });
});

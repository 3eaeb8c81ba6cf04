import { directLauncher, type Launched, relaysFinished } from './launch.js';
import type { SpawnerReply, SpawnerRequest } from './spawner-protocol.js';

/**
 * The spawner helper: a small process that starts commands for `restore apply` and relays their
 * output. Forking from it costs what forking from a fresh Node does, however much memory restore
 * holds, and restore's own thread never blocks in fork, nor spends the time execa takes around
 * each command (directLauncher). It also relays, redacted, the output of
 * daemons of plans with secrets. It exits when restore goes away and no such relay is left;
 * signals are restore's business (it stops process groups itself).
 */
const send = process.send?.bind(process);
if (!send) process.exit(2);

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});
// When restore is gone, the helper stays only while it relays a daemon's (redacted) output.
process.on('disconnect', () => {
  void relaysFinished().then(() => process.exit(0));
});

const running = new Set<Launched>();
// Output sent but not yet processed by restore. Past the high mark every command is paused
// until restore has caught up: its output waits in their pipes, not in anyone's memory.
let unacked = 0;
let paused = false;
const HIGH = 2 * 1024 * 1024;
const LOW = 512 * 1024;

function reply(message: SpawnerReply, bytes = 0): void {
  // restore may be gone already; the callback takes the error, and disconnect ends this process.
  if (process.connected) send!(message, undefined, {}, () => {});
  unacked += bytes;
  if (!paused && unacked > HIGH) {
    paused = true;
    for (const process of running) process.pause();
  }
}

function acknowledged(bytes: number): void {
  unacked -= bytes;
  if (paused && unacked < LOW) {
    paused = false;
    for (const process of running) process.resume();
  }
}

process.on('message', async (request: SpawnerRequest) => {
  if (request.t === 'ack') {
    acknowledged(request.bytes);
    return;
  }
  const { id } = request;
  if (request.t === 'daemon') {
    const daemon = await directLauncher.launchDaemon(request, request.files);
    if (!daemon.ok) {
      reply({ t: 'error', id, code: daemon.code, message: daemon.message });
      return;
    }
    reply({ t: 'spawned', id, pid: daemon.pid });
    reply({ t: 'exit', id, ...(await daemon.exited) });
    return;
  }
  const result = await directLauncher.launch(request, (stream, chunk) => {
    reply({ t: 'out', id, stream, data: chunk }, chunk.length);
  });
  if (!result.ok) {
    reply({ t: 'error', id, code: result.code, message: result.message });
    return;
  }
  const launched = result.process;
  running.add(launched);
  if (paused) launched.pause();
  reply({ t: 'spawned', id, pid: launched.pid });
  const status = await launched.finished;
  running.delete(launched);
  reply({ t: 'exit', id, ...status });
});

reply({ t: 'ready' });

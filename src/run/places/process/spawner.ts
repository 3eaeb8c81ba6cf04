import { execaNode } from 'execa';
import {
  type DaemonFiles,
  type DaemonLaunch,
  directLauncher,
  type Launcher,
  type LaunchRequest,
  type LaunchResult,
  type OnChunk,
} from './launch.js';
import { ACK_BYTES, type SpawnerReply, type SpawnerRequest } from './spawner-protocol.js';

/** Forks the helper from `entry` with execa. */
function startHelper(entry: string | URL) {
  return execaNode(entry, [], {
    // Node's own channel, Buffers carried as they are. execa's message layer (`ipc: true`)
    // is left out: it queues every message to hand them on one per turn of the event loop,
    // and output can be many thousands of them.
    ipc: false,
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    buffer: false,
    reject: false,
    // The helper outlives restore while it relays a daemon's output (spawner-main.ts): it
    // must not be killed when restore exits, and it ends itself.
    cleanup: false,
    forceKillAfterDelay: false,
  });
}

type Helper = ReturnType<typeof startHelper>;

interface Pending {
  onChunk: OnChunk;
  started: (result: LaunchResult) => void;
  exit?: (status: { exitCode: number | null; signal: string | null }) => void;
}

/**
 * A launcher that starts commands through a helper process (spawner-main.ts). Before the helper
 * is ready, or once it is gone, commands are started directly: running them matters more than
 * where they fork from.
 */
export class SpawnerLauncher implements Launcher {
  readonly #pending = new Map<number, Pending>();
  #child: Helper | undefined;
  #ready = false;
  #markBooted: () => void = () => {};
  /** Resolves when the helper is ready, or gone. */
  readonly #booted = new Promise<void>((resolve) => {
    this.#markBooted = resolve;
  });
  #next = 0;
  /** Output processed since the last acknowledgement. */
  #processed = 0;

  /**
   * `entry`: the helper's compiled entry, spawner-main.js (the CLI's is next to its bundle). An
   * entry that cannot be run leaves a launcher that starts every command directly.
   */
  constructor(entry: string | URL) {
    let child: Helper;
    try {
      child = startHelper(entry);
    } catch {
      this.#markBooted();
      return;
    }
    this.#child = child;
    child.on('message', (message: SpawnerReply) => this.#receive(message));
    child.on('exit', () => this.#lost());
    child.on('error', () => this.#lost());
  }

  launch(request: LaunchRequest, onChunk: OnChunk): Promise<LaunchResult> {
    const child = this.#child;
    // Until the helper has booted (a Node start-up), commands start directly rather than wait.
    if (!this.#ready || !child?.connected) return directLauncher.launch(request, onChunk);
    const id = this.#next++;
    return new Promise((started) => {
      this.#pending.set(id, { onChunk, started });
      child.send({ t: 'spawn', ...request, id } satisfies SpawnerRequest);
    });
  }

  async launchDaemon(request: LaunchRequest, files: DaemonFiles): Promise<DaemonLaunch> {
    const { redact } = files;
    // Redacted output must outlive restore: only the helper can relay it. Wait for it to boot.
    if (redact.length > 0 && !this.#ready && this.#child?.connected) await this.#booted;
    const child = this.#child;
    if (!this.#ready || !child?.connected) {
      if (redact.length > 0) {
        return {
          ok: false,
          code: undefined,
          message: 'the log relay (spawner helper) is not running, so its output could not be redacted',
        };
      }
      return directLauncher.launchDaemon(request, files);
    }
    const id = this.#next++;
    return new Promise((started) => {
      this.#pending.set(id, {
        onChunk: () => {},
        started: (result) =>
          started(
            result.ok ? { ok: true, pid: result.process.pid, exited: result.process.finished } : result,
          ),
      });
      child.send({ t: 'daemon', files, ...request, id } satisfies SpawnerRequest);
    });
  }

  /** Whether commands go through the helper now. */
  get ready(): boolean {
    return this.#ready && this.#child?.connected === true;
  }

  /** Ends the helper at once (tests: what happens when it dies). */
  kill(): void {
    this.#child?.kill('SIGKILL');
  }

  /** Lets the helper go (it exits when the channel closes). */
  close(): void {
    const child = this.#child;
    this.#child = undefined;
    if (!child) return;
    if (child.connected) child.disconnect();
    // It may stay up relaying daemon output; restore must not wait for it.
    child.unref();
  }

  #receive(message: SpawnerReply): void {
    if (message.t === 'ready') {
      this.#ready = true;
      this.#markBooted();
      return;
    }
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    switch (message.t) {
      case 'out':
        pending.onChunk(message.stream, message.data);
        this.#processed += message.data.length;
        if (this.#processed >= ACK_BYTES) {
          this.#child?.send({ t: 'ack', bytes: this.#processed } satisfies SpawnerRequest);
          this.#processed = 0;
        }
        return;
      case 'error':
        this.#pending.delete(message.id);
        pending.started({ ok: false, code: message.code, message: message.message });
        return;
      case 'spawned': {
        const finished = new Promise<{ exitCode: number | null; signal: string | null }>((resolve) => {
          pending.exit = resolve;
        });
        // Backpressure is the helper's: it pauses commands while we have not acknowledged output.
        pending.started({
          ok: true,
          process: { pid: message.pid, finished, pause: () => {}, resume: () => {} },
        });
        return;
      }
      case 'exit':
        this.#pending.delete(message.id);
        pending.exit?.({ exitCode: message.exitCode, signal: message.signal });
        return;
    }
  }

  /** The helper died: what it was running is reported as killed, new commands start directly. */
  #lost(): void {
    this.#child = undefined;
    this.#ready = false;
    this.#markBooted();
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      if (pending.exit) pending.exit({ exitCode: null, signal: 'SIGKILL' });
      else pending.started({ ok: false, code: undefined, message: 'the spawner helper exited' });
    }
  }
}

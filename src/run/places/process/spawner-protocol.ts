import type { DaemonFiles, LaunchRequest } from './launch.js';
import type { Stream } from './types.js';

/** Messages between restore and its spawner helper (advanced serialization: Buffers as they are). */
export type SpawnerRequest =
  | ({ t: 'spawn' } & LaunchRequest & { id: number })
  | ({ t: 'daemon'; files: DaemonFiles } & LaunchRequest & { id: number })
  | { t: 'ack'; bytes: number };

/** restore acknowledges output it has processed in steps of this many bytes. */
export const ACK_BYTES = 256 * 1024;

export type SpawnerReply =
  | { t: 'ready' }
  | { t: 'spawned'; id: number; pid: number }
  | { t: 'error'; id: number; code: string | undefined; message: string }
  | { t: 'out'; id: number; stream: Stream; data: Buffer }
  | { t: 'exit'; id: number; exitCode: number | null; signal: string | null };

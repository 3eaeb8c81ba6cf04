import type { ResolvedPlan, ResolvedService } from '../../plan/model.js';
import { type PlanState, sshDir } from '../state/state-dir.js';
import { LocalPlace } from './local.js';
import type { Place } from './place.js';
import type { Launcher } from './process/launch.js';
import { SshPlace } from './ssh/place.js';
import { SshHosts } from './ssh/ssh.js';

export interface PlacesOptions {
  plan: Pick<ResolvedPlan, 'name' | 'hosts'>;
  /** The plan file's directory. */
  planDir: string;
  /** The plan's state (daemons' pid files and logs, the ssh sockets); absent for `plan --live`. */
  state?: PlanState;
  /** Where the ssh connection sockets live; default the state's `ssh` directory. */
  sshControlDir?: string;
  /** Secret values, kept out of daemons' logs here and on hosts. */
  secrets: readonly string[];
  /** What starts processes on this machine (ssh clients included): the spawner helper during apply. */
  launcher: Launcher;
}

/**
 * The places of a plan: this machine, and each of its hosts, made on first use and asked for by
 * service (a service with `host:` runs there, any other here). `close` ends the ssh connections
 * the places opened; it never fails.
 */
export class Places {
  readonly here: LocalPlace;
  readonly #hosts = new Map<string, SshPlace>();
  #ssh: SshHosts | undefined;

  constructor(private readonly options: PlacesOptions) {
    this.here = new LocalPlace({
      planDir: options.planDir,
      secrets: options.secrets,
      launcher: options.launcher,
      ...(options.state ? { state: options.state } : {}),
    });
  }

  /** Where `service`'s commands run. */
  of(service: Pick<ResolvedService, 'host'>): Place {
    return service.host === null ? this.here : this.host(service.host);
  }

  /** The place of a host of the plan (validated: an unknown name is a bug). */
  host(name: string): SshPlace {
    const known = this.#hosts.get(name);
    if (known) return known;
    this.#ssh ??= new SshHosts(this.options.plan.hosts, this.#controlDir());
    const place = new SshPlace(
      {
        ssh: this.#ssh,
        host: this.#ssh.host(name),
        localDir: this.options.planDir,
        launcher: this.options.launcher,
      },
      { plan: this.options.plan.name, secrets: this.options.secrets },
    );
    this.#hosts.set(name, place);
    return place;
  }

  async close(): Promise<void> {
    await this.#ssh?.close();
  }

  #controlDir(): string {
    if (this.options.sshControlDir !== undefined) return this.options.sshControlDir;
    if (this.options.state) return sshDir(this.options.state);
    throw new Error('a plan with hosts needs a directory for its ssh connections');
  }
}

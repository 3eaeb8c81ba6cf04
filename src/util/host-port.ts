/**
 * `127.0.0.1:5432`, `[::1]:5432`, or a socket directory `/run/pg:5432`: an address and a port as a
 * check names its target, in the preview and in its results alike.
 */
export function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

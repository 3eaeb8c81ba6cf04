import { readFileSync } from 'node:fs';

/** Set by the bundler (scripts/bundle.mjs) to the package version; absent when run from tsc output. */
declare const RESTORE_VERSION: string | undefined;

/**
 * The package version: built into the bundle, so it holds whatever the package is called and
 * wherever it is installed. Unbundled (tests importing the sources), the nearest package.json
 * above this file that provides the `restore` command.
 */
export function packageVersion(): string {
  if (typeof RESTORE_VERSION === 'string') return RESTORE_VERSION;
  for (let url = new URL('./package.json', import.meta.url); ; ) {
    try {
      const pkg = JSON.parse(readFileSync(url, 'utf8')) as { version?: string; bin?: Record<string, string> };
      if (pkg.bin?.restore && pkg.version) return pkg.version;
    } catch {
      // not here; look one directory up
    }
    const up = new URL('../package.json', url);
    if (up.href === url.href) return 'unknown';
    url = up;
  }
}

import { readFileSync } from 'node:fs';

/**
 * The package version, from the package.json above the running code (compiled modules and the
 * bundle sit at different depths under dist/).
 */
export function packageVersion(): string {
  for (let url = new URL('./package.json', import.meta.url); ; ) {
    try {
      const pkg = JSON.parse(readFileSync(url, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'restore' && pkg.version) return pkg.version;
    } catch {
      // not here; look one directory up
    }
    const up = new URL('../package.json', url);
    if (up.href === url.href) return 'unknown';
    url = up;
  }
}

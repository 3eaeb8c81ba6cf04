// Bundles the CLI into dist/bundle/ (one file per command, loaded on demand, plus the spawner
// helper's entry). One file instead of ~80 modules saves about 100 ms of start-up on every
// command (module resolution and loading), which `apply`'s overhead budget needs.
//
// The design's runtime packages (commander, execa, p-queue, yaml, pino) are the package's
// `dependencies`. They stay out of the bundle and load from node_modules, except execa: its ~150
// small modules took 220 ms to load per process against 65 ms bundled (farm-bench, 10 pairs,
// over `node -e 0`), paid by restore and by its spawner helper before either starts a command.
// Every other package is bundled and is a devDependency.
import { readFileSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

// RESTORE_BUNDLE_ALL=1 bundles the runtime packages too (to measure start-up both ways).
const BUNDLED = new Set(['execa']);
const external = process.env.RESTORE_BUNDLE_ALL
  ? []
  : Object.keys(pkg.dependencies).filter((name) => !BUNDLED.has(name));

// Chunk names carry content hashes: without a clean start, every build would leave the last one's.
rmSync('dist/bundle', { recursive: true, force: true });

await build({
  entryPoints: ['src/cli/main.ts', 'src/run/places/process/spawner-main.ts'],
  outdir: 'dist/bundle',
  entryNames: '[name]',
  // Chunks sit next to the entries: `restore apply` finds the helper as ./spawner-main.js from
  // the chunk that holds it (src/cli/commands/apply.ts).
  chunkNames: '[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  external,
  // `restore --version` reads no file: the version is part of the code.
  define: { RESTORE_VERSION: JSON.stringify(pkg.version) },
  // CommonJS dependencies call require() for Node's own modules.
  banner: {
    js: "import { createRequire as __restoreRequire } from 'node:module'; const require = __restoreRequire(import.meta.url);",
  },
});

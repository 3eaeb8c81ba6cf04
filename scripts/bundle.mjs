// Bundles the CLI into dist/bundle/ (one file per command, loaded on demand, plus the spawner
// helper's entry). One file instead of ~80 modules saves about 100 ms of start-up on every
// command (module resolution and loading), which `apply`'s overhead budget needs.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

// Chunk names carry content hashes: without a clean start, every build would leave the last one's.
rmSync('dist/bundle', { recursive: true, force: true });

await build({
  entryPoints: ['src/cli/main.ts', 'src/run/executor/spawner-main.ts'],
  outdir: 'dist/bundle',
  entryNames: '[name]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  // CommonJS dependencies (commander, pino) call require() for Node's own modules.
  banner: {
    js: "import { createRequire as __restoreRequire } from 'node:module'; const require = __restoreRequire(import.meta.url);",
  },
});

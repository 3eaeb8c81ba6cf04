#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';

// V8 doubles the young generation whenever enough survives it, up to 32 MiB, and restore, which
// runs as long as a restoration does, always gets there: that was a quarter of apply's peak
// memory. Kept at its first 2 MiB, the peak of a 2,000-service apply fell from 113 to 90 MiB, at
// no measurable cost to `validate` of 5,000 services (docs/performance.md). Set before anything
// is allocated; it only stops growth, so it holds whatever the heap's configured sizes.
setFlagsFromString('--semi-space-growth-factor=1');

// Loads the compiled CLI (npm run build). A closed stdout or stderr does not end it (src/cli/io.ts).
const { main } = await import('../dist/bundle/main.js');
process.exitCode = await main(process.argv.slice(2));

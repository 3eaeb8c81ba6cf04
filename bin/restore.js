#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';

// V8 doubles the young generation whenever enough survives it, up to 32 MiB, and `apply`, which
// runs as long as a restoration does, always got there: a quarter of its peak memory. Kept at
// its first 2 MiB, the peak of a 2,000-service apply fell from 113 to about 90 MiB. Only for the
// commands that run services: `validate` and `plan` of 5,000 services, short and allocating
// fast, took six times as many scavenges without the growth (docs/performance.md). A drill runs
// as an apply does. Set before anything is allocated; it only stops growth, so it holds whatever
// the heap's configured sizes.
if (process.argv[2] === 'apply' || process.argv[2] === 'drill' || process.argv[2] === 'down') {
  setFlagsFromString('--semi-space-growth-factor=1');
}

// Loads the compiled CLI (npm run build). A closed stdout or stderr does not end it (src/cli/io.ts).
const { main } = await import('../dist/bundle/main.js');
process.exitCode = await main(process.argv.slice(2));

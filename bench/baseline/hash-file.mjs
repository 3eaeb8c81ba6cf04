// What `verify: - file:` costs on this machine: LocalPlace.hashFile (the streamed hash apply runs
// before a start), as built in dist/, on one file. Prints the digest and this process's peak RSS.
// Usage: node hash-file.mjs <dist-dir> <file>
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dist, file] = process.argv.slice(2);
const { LocalPlace } = await import(pathToFileURL(join(dist, 'src', 'run', 'places', 'local.js')).href);
const { directLauncher } = await import(
  pathToFileURL(join(dist, 'src', 'run', 'places', 'process', 'launch.js')).href
);
const place = new LocalPlace({ planDir: process.cwd(), secrets: [], launcher: directLauncher });
const digest = await place.hashFile(file);
if (!digest.ok) {
  process.stderr.write(`${digest.message}\n`);
  process.exit(1);
}
// maxRSS is in KiB on Linux.
process.stdout.write(`${digest.sha256} ${process.resourceUsage().maxRSS}\n`);

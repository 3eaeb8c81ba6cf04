/**
 * Synthetic plans for the benchmarks. The YAML is written by hand rather than through a YAML
 * library so that generating a 5,000-service plan costs nothing measurable and the text is
 * byte-for-byte identical for the same options (runs stay comparable across machines and commits).
 */

export interface LayeredPlanOptions {
  /** Number of dependency layers; layer 0 has no dependencies. */
  layers: number;
  /** Services per layer. */
  width: number;
  /** Distinct dependencies of every service of layer k > 0, all in layer k - 1. */
  depsPerService: number;
  /** PRNG seed choosing the dependencies. */
  seed: number;
  /** Give each service a tcp check (default true); without, a service is healthy once started. */
  health?: boolean;
}

/** The same DAG as data: for the baselines (a bare spawn script, make) that run it without restore. */
export function generateLayeredDag(options: LayeredPlanOptions): { name: string; deps: string[] }[] {
  const { layers, width, depsPerService, seed } = options;
  const name = nameFormatter(layers, width);
  const random = mulberry32(seed);
  const out: { name: string; deps: string[] }[] = [];
  for (let layer = 0; layer < layers; layer += 1) {
    for (let index = 0; index < width; index += 1) {
      const deps =
        layer === 0 ? [] : pickDistinct(random, width, depsPerService).map((i) => name(layer - 1, i));
      out.push({ name: name(layer, index), deps });
    }
  }
  return out;
}

/** A valid plan (no declared stages) where each layer depends on the one before it. */
export function generateLayeredPlan(options: LayeredPlanOptions): string {
  const { layers, width, depsPerService } = options;
  assertCount('layers', layers, 1);
  assertCount('width', width, 1);
  assertCount('depsPerService', depsPerService, 0);
  if (layers > 1 && depsPerService > width) {
    throw new RangeError(`depsPerService (${depsPerService}) cannot exceed width (${width})`);
  }

  const lines = ['version: 1', 'name: bench', 'services:'];
  generateLayeredDag(options).forEach(({ name, deps }, ordinal) => {
    lines.push(...serviceLines(name, deps, ordinal, options.health ?? true));
  });
  return `${lines.join('\n')}\n`;
}

/** A valid plan of `n` services with no dependencies at all (a single wave). */
export function generateFlatPlan(n: number): string {
  return generateLayeredPlan({ layers: 1, width: n, depsPerService: 0, seed: 0 });
}

function serviceLines(name: string, deps: readonly string[], ordinal: number, health: boolean): string[] {
  const lines = [`  ${name}:`];
  if (deps.length > 0) lines.push(`    depends_on: [${deps.join(', ')}]`);
  lines.push('    start: "true"');
  if (health) lines.push('    health:', `      - tcp: { port: ${portFor(ordinal)} }`);
  return lines;
}

/** Any valid port will do (nothing listens); spread them so that plans look realistic. */
function portFor(ordinal: number): number {
  return 1024 + (ordinal % (65535 - 1024 + 1));
}

/** `svc-LL-III`, padded to at least 2 and 3 digits so that names sort like the layout. */
function nameFormatter(layers: number, width: number): (layer: number, index: number) => string {
  const layerDigits = Math.max(2, String(layers - 1).length);
  const indexDigits = Math.max(3, String(width - 1).length);
  return (layer, index) =>
    `svc-${String(layer).padStart(layerDigits, '0')}-${String(index).padStart(indexDigits, '0')}`;
}

/** `count` distinct integers of [0, range), ascending (a partial Fisher–Yates shuffle). */
function pickDistinct(random: () => number, range: number, count: number): number[] {
  const pool = Array.from({ length: range }, (_, i) => i);
  for (let i = 0; i < count; i += 1) {
    const j = i + Math.floor(random() * (range - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, count).sort((a, b) => a - b);
}

/** Small seeded PRNG: `Math.random` cannot be seeded, and the plans must be reproducible. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function assertCount(label: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`${label} must be an integer >= ${min}, got ${value}`);
  }
}

/**
 * Dependency graph algorithms over service names. `deps` maps each service to the services it
 * depends on; names missing from `deps` are ignored. All loops are iterative: a plan may hold a
 * dependency chain thousands of services deep.
 */
export type Deps = ReadonlyMap<string, readonly string[]>;

/**
 * Every elementary cycle found by a depth-first search, each as a path that ends where it began
 * (`[a, b, c, a]`), reported once, starting from its smallest name.
 */
export function findCycles(deps: Deps): string[][] {
  const state = new Map<string, 'active' | 'done'>();
  const cycles: string[][] = [];
  const seen = new Set<string>();
  for (const root of [...deps.keys()].sort()) {
    if (state.has(root)) continue;
    const stack: { name: string; next: number }[] = [{ name: root, next: 0 }];
    state.set(root, 'active');
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      const targets = deps.get(frame.name) ?? [];
      if (frame.next >= targets.length) {
        state.set(frame.name, 'done');
        stack.pop();
        continue;
      }
      const target = targets[frame.next++]!;
      if (!deps.has(target)) continue;
      const mark = state.get(target);
      if (mark === 'active') {
        const from = stack.findIndex((f) => f.name === target);
        const cycle = stack.slice(from).map((f) => f.name);
        const canonical = rotateToSmallest(cycle);
        const key = canonical.join('\u0000');
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push([...canonical, canonical[0]!]);
        }
      } else if (mark === undefined) {
        state.set(target, 'active');
        stack.push({ name: target, next: 0 });
      }
    }
  }
  return cycles;
}

function rotateToSmallest(cycle: string[]): string[] {
  let best = 0;
  for (let i = 1; i < cycle.length; i++) if (cycle[i]! < cycle[best]!) best = i;
  return [...cycle.slice(best), ...cycle.slice(0, best)];
}

/**
 * Depth of each service in an acyclic graph: 1 with no dependencies, else one more than its
 * deepest dependency (the computed `wave-k` stages).
 */
export function depths(deps: Deps): Map<string, number> {
  const depth = new Map<string, number>();
  // Any start order gives the same depths: a plain queue does, without the name-ordered heap.
  const { waiting, dependents } = edgesWithin(deps, deps.keys());
  const ready: string[] = [];
  for (const [name, count] of waiting) if (count === 0) ready.push(name);
  for (let next = 0; next < ready.length; next++) {
    const name = ready[next]!;
    let deepest = 0;
    for (const dep of deps.get(name) ?? []) deepest = Math.max(deepest, depth.get(dep) ?? 0);
    depth.set(name, deepest + 1);
    release(name, waiting, dependents, ready);
  }
  return depth;
}

/**
 * The given services in a valid start order: every service after those of its dependencies that
 * are also given, ties broken by name. Dependencies outside `names` are taken as already done.
 * The graph restricted to `names` must be acyclic.
 */
export function topologicalOrder(deps: Deps, names: Iterable<string>): string[] {
  const { waiting, dependents } = edgesWithin(deps, names);
  const ready = new MinHeap();
  for (const [name, count] of waiting) if (count === 0) ready.push(name);
  const order: string[] = [];
  const released: string[] = [];
  for (let name = ready.pop(); name !== undefined; name = ready.pop()) {
    order.push(name);
    release(name, waiting, dependents, released);
    for (const next of released) ready.push(next);
    released.length = 0;
  }
  return order;
}

/**
 * For each of `names`, how many of its dependencies among `names` it waits for, and who waits for
 * whom. A dependency listed twice is counted and released twice, which comes to the same.
 */
function edgesWithin(
  deps: Deps,
  names: Iterable<string>,
): { waiting: Map<string, number>; dependents: Map<string, string[]> } {
  const waiting = new Map<string, number>();
  for (const name of names) waiting.set(name, 0);
  const dependents = new Map<string, string[]>();
  for (const [name] of waiting) {
    let count = 0;
    for (const dep of deps.get(name) ?? []) {
      if (dep === name || !waiting.has(dep)) continue;
      count += 1;
      const list = dependents.get(dep);
      if (list) list.push(name);
      else dependents.set(dep, [name]);
    }
    waiting.set(name, count);
  }
  return { waiting, dependents };
}

/** Marks `name` done: each dependent whose last awaited dependency it was is added to `ready`. */
function release(
  name: string,
  waiting: Map<string, number>,
  dependents: Map<string, string[]>,
  ready: string[],
): void {
  for (const dependent of dependents.get(name) ?? []) {
    const left = waiting.get(dependent)! - 1;
    waiting.set(dependent, left);
    if (left === 0) ready.push(dependent);
  }
}

/** The named services and everything they depend on, transitively. */
export function withDependencies(deps: Deps, names: Iterable<string>): Set<string> {
  const selected = new Set<string>();
  const todo = [...names];
  for (let name = todo.pop(); name !== undefined; name = todo.pop()) {
    if (selected.has(name)) continue;
    selected.add(name);
    for (const dep of deps.get(name) ?? []) if (!selected.has(dep)) todo.push(dep);
  }
  return selected;
}

/** A binary min-heap of strings, for name-ordered topological sorting in O(n log n). */
class MinHeap {
  readonly #items: string[] = [];

  push(item: string): void {
    const items = this.#items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]! <= item) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = item;
  }

  pop(): string | undefined {
    const items = this.#items;
    if (items.length === 0) return undefined;
    const top = items[0];
    const last = items.pop()!;
    if (items.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= items.length) break;
        const right = left + 1;
        const child = right < items.length && items[right]! < items[left]! ? right : left;
        if (items[child]! >= last) break;
        items[i] = items[child]!;
        i = child;
      }
      items[i] = last;
    }
    return top;
  }
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Deps, depths, findCycles, topologicalOrder, withDependencies } from '../../src/plan/graph.js';

interface Dag {
  /** Node names by index; a node depends only on nodes of lower index. */
  names: string[];
  deps: Map<string, string[]>;
}

const nodeName = fc.oneof(
  fc.stringMatching(/^[a-z0-9][a-z0-9_.-]{0,4}$/),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }),
);

/**
 * A random DAG: nodes n0..nk, edges only from a higher to a lower index, names drawn at random so
 * that name order says nothing about the graph, and map keys inserted in a random order.
 */
const dagArb: fc.Arbitrary<Dag> = fc.integer({ min: 1, max: 24 }).chain((n) => {
  const indexes = Array.from({ length: n }, (_, i) => i);
  return fc
    .record({
      names: fc.uniqueArray(nodeName, { minLength: n, maxLength: n }),
      edges: fc.tuple(...indexes.map((i) => fc.subarray(indexes.slice(0, i)))),
      insertion: fc.shuffledSubarray(indexes, { minLength: n, maxLength: n }),
    })
    .map(({ names, edges, insertion }) => ({
      names,
      deps: new Map(insertion.map((i) => [names[i]!, edges[i]!.map((j) => names[j]!)])),
    }));
});

const depsOf = (deps: Deps, name: string): readonly string[] => deps.get(name) ?? [];

/** The definition, in O(n^2): repeatedly place the smallest name whose dependencies are placed. */
function naiveOrder(deps: Deps, names: readonly string[]): string[] {
  const members = new Set(names);
  const placed = new Set<string>();
  const order: string[] = [];
  for (;;) {
    let pick: string | undefined;
    for (const name of members) {
      if (placed.has(name)) continue;
      const ready = depsOf(deps, name).every((d) => d === name || !members.has(d) || placed.has(d));
      if (ready && (pick === undefined || name < pick)) pick = name;
    }
    if (pick === undefined) return order;
    placed.add(pick);
    order.push(pick);
  }
}

/** Everything reachable from `names` by following dependencies (the names included). */
function reachable(deps: Deps, names: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    for (const dep of depsOf(deps, name)) visit(dep);
  };
  for (const name of names) visit(name);
  return seen;
}

function expectRealCycle(deps: Deps, cycle: readonly string[]): void {
  expect(cycle.length).toBeGreaterThanOrEqual(2);
  expect(cycle.at(-1)).toBe(cycle[0]);
  const members = cycle.slice(0, -1);
  expect(new Set(members).size, 'a name appears twice in the cycle').toBe(members.length);
  for (const name of members) expect(cycle[0]! <= name).toBe(true);
  for (let i = 0; i + 1 < cycle.length; i++) {
    expect(depsOf(deps, cycle[i]!), `${cycle[i]} -> ${cycle[i + 1]} is not an edge`).toContain(cycle[i + 1]);
  }
}

/** A chain of `length` services, each depending on the previous one; names run backwards. */
function chain(length: number): { names: string[]; deps: Map<string, string[]> } {
  const names = Array.from({ length }, (_, i) => `s${String(length - i).padStart(6, '0')}`);
  const deps = new Map(names.map((name, i) => [name, i === 0 ? [] : [names[i - 1]!]]));
  return { names, deps };
}

describe('Dependency graph (SPEC 2, "Stages" and "Validation"; SPEC 4 start order)', () => {
  describe('start order', () => {
    it('a service comes after its dependencies; ready services go in name order', () => {
      const deps = new Map([
        ['web', ['api']],
        ['api', ['db', 'cache']],
        ['db', []],
        ['cache', []],
        ['batch', ['db']],
      ]);
      expect(topologicalOrder(deps, [...deps.keys()])).toEqual(['cache', 'db', 'api', 'batch', 'web']);
    });

    it('the smallest ready name is placed next, even if that delays a deeper branch', () => {
      const deps = new Map([
        ['a', ['c']],
        ['b', []],
        ['c', []],
      ]);
      expect(topologicalOrder(deps, ['a', 'b', 'c'])).toEqual(['b', 'c', 'a']);
    });

    it('names compare by UTF-16 code units (upper case before lower case)', () => {
      const deps = new Map<string, string[]>([
        ['b', []],
        ['B', []],
        ['a', []],
      ]);
      expect(topologicalOrder(deps, ['b', 'B', 'a'])).toEqual(['B', 'a', 'b']);
    });

    it('dependencies outside the given services count as already done', () => {
      const deps = new Map([
        ['api', ['db']],
        ['db', []],
      ]);
      expect(topologicalOrder(deps, ['api'])).toEqual(['api']);
    });

    it('a service named twice is placed once; a repeated dependency is waited for once', () => {
      const deps = new Map([
        ['api', ['db', 'db']],
        ['db', []],
      ]);
      expect(topologicalOrder(deps, ['api', 'db', 'api'])).toEqual(['db', 'api']);
    });

    it('on a random DAG every service is placed exactly once, after all its dependencies', () => {
      fc.assert(
        fc.property(dagArb, ({ names, deps }) => {
          const order = topologicalOrder(deps, names);
          expect([...order].sort()).toEqual([...names].sort());
          const position = new Map(order.map((name, i) => [name, i]));
          for (const name of names) {
            for (const dep of depsOf(deps, name))
              expect(position.get(dep)!).toBeLessThan(position.get(name)!);
          }
        }),
      );
    });

    it('on a random DAG the order is the naive smallest-ready-name-first order', () => {
      fc.assert(
        fc.property(dagArb, ({ names, deps }) => {
          expect(topologicalOrder(deps, names)).toEqual(naiveOrder(deps, names));
        }),
        { numRuns: 300 },
      );
    });

    it('on any subset of a random DAG the order is the naive order of that subset', () => {
      const withSubset = dagArb.chain((dag) =>
        fc.shuffledSubarray(dag.names).map((subset) => ({ ...dag, subset })),
      );
      fc.assert(
        fc.property(withSubset, ({ deps, subset }) => {
          const order = topologicalOrder(deps, subset);
          expect([...order].sort()).toEqual([...subset].sort());
          expect(order).toEqual(naiveOrder(deps, subset));
        }),
        { numRuns: 300 },
      );
    });
  });

  describe('dependency cycles', () => {
    it('a three-service cycle is listed whole, from its smallest name: a -> b -> c -> a', () => {
      const deps = new Map([
        ['b', ['c']],
        ['c', ['a']],
        ['a', ['b']],
      ]);
      expect(findCycles(deps)).toEqual([['a', 'b', 'c', 'a']]);
    });

    it('a cycle entered from outside starts at its own smallest name', () => {
      const deps = new Map([
        ['a', ['z']],
        ['z', ['y']],
        ['y', ['z']],
      ]);
      expect(findCycles(deps)).toEqual([['y', 'z', 'y']]);
    });

    it('separate cycles are each reported, once', () => {
      const deps = new Map([
        ['a', ['b']],
        ['b', ['a']],
        ['c', ['d']],
        ['d', ['c']],
        ['e', ['a', 'c']],
      ]);
      expect(findCycles(deps)).toEqual([
        ['a', 'b', 'a'],
        ['c', 'd', 'c'],
      ]);
    });

    it('dependencies on unknown services are ignored', () => {
      expect(findCycles(new Map([['a', ['ghost']]]))).toEqual([]);
    });

    it('a random DAG has no cycle', () => {
      fc.assert(
        fc.property(dagArb, ({ deps }) => {
          expect(findCycles(deps)).toEqual([]);
        }),
      );
    });

    it('one back edge in a random DAG yields real cycles, each through that edge', () => {
      const withBackEdge = dagArb.chain((dag) =>
        fc
          .record({ from: fc.nat(dag.names.length - 1), pick: fc.nat() })
          .map((choice) => ({ ...dag, ...choice })),
      );
      fc.assert(
        fc.property(withBackEdge, ({ names, deps, from, pick }) => {
          // `target` depends (transitively) on `source`; making `source` depend on `target` closes a loop.
          const target = names[from]!;
          const below = [...reachable(deps, [target])].filter((name) => name !== target).sort();
          fc.pre(below.length > 0);
          const source = below[pick % below.length]!;
          const cyclic = new Map(deps);
          cyclic.set(source, [...depsOf(deps, source), target]);

          const cycles = findCycles(cyclic);
          expect(cycles.length).toBeGreaterThan(0);
          const keys = new Set(cycles.map((cycle) => cycle.join('\u0000')));
          expect(keys.size, 'a cycle is reported twice').toBe(cycles.length);
          for (const cycle of cycles) {
            expectRealCycle(cyclic, cycle);
            const usesBackEdge = cycle.some((name, i) => name === source && cycle[i + 1] === target);
            expect(usesBackEdge, `${cycle.join(' -> ')} avoids ${source} -> ${target}`).toBe(true);
          }
        }),
        { numRuns: 300 },
      );
    });
  });

  describe('computed stages: depth in the dependency graph', () => {
    it('services without dependencies are wave 1; others one deeper than their deepest dependency', () => {
      const deps = new Map([
        ['db', []],
        ['cache', []],
        ['api', ['db']],
        ['web', ['api', 'cache']],
        ['ghost-dependent', ['ghost']],
      ]);
      expect(Object.fromEntries(depths(deps))).toEqual({
        db: 1,
        cache: 1,
        api: 2,
        web: 3,
        'ghost-dependent': 1,
      });
    });

    it('on a random DAG a depth is 1 for roots and 1 + the deepest dependency otherwise', () => {
      fc.assert(
        fc.property(dagArb, ({ names, deps }) => {
          const depth = depths(deps);
          expect(depth.size).toBe(names.length);
          // Dependencies have lower indexes, so one pass in index order computes the reference.
          const expected = new Map<string, number>();
          for (const name of names) {
            expected.set(name, 1 + Math.max(0, ...depsOf(deps, name).map((dep) => expected.get(dep)!)));
          }
          for (const name of names) expect(depth.get(name), name).toBe(expected.get(name));
        }),
      );
    });
  });

  describe('depths as a test for cycles (checkStructure searches for cycles only when depths miss a service)', () => {
    const anyGraph = fc
      .uniqueArray(fc.stringMatching(/^[a-z]{1,2}$/), { minLength: 1, maxLength: 12 })
      .chain((names) =>
        fc
          .tuple(...names.map(() => fc.subarray(names)))
          .map((lists) => new Map(names.map((name, i) => [name, lists[i]!.filter((dep) => dep !== name)]))),
      );

    it('on any graph, depths cover every service exactly when there is no cycle', () => {
      fc.assert(
        fc.property(anyGraph, (deps) => {
          expect(depths(deps).size === deps.size).toBe(findCycles(deps).length === 0);
        }),
        { numRuns: 500 },
      );
    });
  });

  describe('selection with dependencies (`--only`)', () => {
    it('the named services come with everything they depend on, transitively, and nothing else', () => {
      const deps = new Map([
        ['web', ['api']],
        ['api', ['db']],
        ['db', []],
        ['worker', ['queue']],
        ['queue', []],
      ]);
      expect([...withDependencies(deps, ['web'])].sort()).toEqual(['api', 'db', 'web']);
      expect([...withDependencies(deps, ['api', 'queue'])].sort()).toEqual(['api', 'db', 'queue']);
      expect([...withDependencies(deps, [])]).toEqual([]);
    });

    it('on a random DAG the selection holds the named services and is closed under dependencies', () => {
      const withSelection = dagArb.chain((dag) => fc.subarray(dag.names).map((only) => ({ ...dag, only })));
      fc.assert(
        fc.property(withSelection, ({ deps, only }) => {
          const selected = withDependencies(deps, only);
          for (const name of only) expect(selected.has(name)).toBe(true);
          for (const name of selected) {
            for (const dep of depsOf(deps, name))
              expect(selected.has(dep), `${name} needs ${dep}`).toBe(true);
          }
          expect([...selected].sort()).toEqual([...reachable(deps, only)].sort());
        }),
      );
    });

    it('a cycle does not make the selection loop forever', () => {
      const deps = new Map([
        ['a', ['b']],
        ['b', ['a']],
      ]);
      expect([...withDependencies(deps, ['a'])].sort()).toEqual(['a', 'b']);
    });
  });

  describe('a chain 20,000 services deep does not overflow the stack', () => {
    const length = 20_000;
    const { names, deps } = chain(length);
    const last = names.at(-1)!;

    it('start order follows the chain, whatever the names', () => {
      expect(topologicalOrder(deps, [...names].reverse())).toEqual(names);
    });

    it('the last service is at depth 20,000', () => {
      const depth = depths(deps);
      expect(depth.get(last)).toBe(length);
      expect(depth.get(names[0]!)).toBe(1);
    });

    it('selecting the last service selects the whole chain', () => {
      expect(withDependencies(deps, [last]).size).toBe(length);
    });

    it('there is no cycle, and closing the chain gives one cycle through all 20,000', () => {
      expect(findCycles(deps)).toEqual([]);
      const closed = new Map(deps);
      closed.set(names[0]!, [last]);
      const cycles = findCycles(closed);
      expect(cycles).toHaveLength(1);
      expect(cycles[0]).toHaveLength(length + 1);
      expect(cycles[0]![0]).toBe('s000001');
      expectRealCycle(closed, cycles[0]!);
    });
  });
});

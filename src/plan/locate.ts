import type { Document, Node, Pair } from 'yaml';
import { yamlLib } from './yaml-lib.js';

export type PathSegment = string | number;

/** What a path through the plan's data points at in the YAML document. */
export interface Location {
  /** The value node at the path, when it exists. */
  node?: Node;
  /** The key node whose value is at the path, when the path ends in a mapping key. */
  key?: Node;
  /** The deepest node that exists along the path (the whole document at worst). */
  nearest?: Node;
  /** The key node under which `nearest` sits, if any. */
  nearestKey?: Node;
}

/**
 * Follows a data path through the document, resolving aliases and `<<` merge keys the way the
 * data was built, so that every diagnostic can point at the node a user wrote.
 */
export function locate(doc: Document.Parsed, path: readonly PathSegment[]): Location {
  const { isMap, isSeq } = yamlLib();
  let current: Node | null | undefined = doc.contents;
  let currentKey: Node | undefined;
  let nearest: Node | undefined = current ?? undefined;
  let nearestKey: Node | undefined;
  for (const segment of path) {
    const container = resolveAlias(doc, current);
    let next: { value: Node | undefined; key: Node | undefined } | undefined;
    if (isMap(container)) {
      const pair = findPair(doc, container.items as Pair<unknown, unknown>[], String(segment), 0);
      if (pair) next = { value: asNode(pair.value), key: asNode(pair.key) };
    } else if (isSeq(container) && typeof segment === 'number') {
      const item = container.items[segment];
      if (item !== undefined) next = { value: asNode(item), key: undefined };
    }
    if (!next) return { nearest, nearestKey };
    current = next.value;
    currentKey = next.key;
    if (current) {
      nearest = current;
      nearestKey = currentKey;
    } else if (currentKey) {
      // `key:` with no value: the key itself is the nearest thing to point at.
      return { key: currentKey, nearest: currentKey, nearestKey: currentKey };
    }
  }
  return {
    ...(current ? { node: current } : {}),
    ...(currentKey ? { key: currentKey } : {}),
    ...(nearest ? { nearest } : {}),
    ...(nearestKey ? { nearestKey } : {}),
  };
}

function asNode(value: unknown): Node | undefined {
  return value !== null && typeof value === 'object' && 'range' in value ? (value as Node) : undefined;
}

function resolveAlias(doc: Document.Parsed, node: Node | null | undefined): Node | undefined {
  const { isAlias } = yamlLib();
  let current = node ?? undefined;
  for (let hops = 0; current && isAlias(current) && hops < 100; hops++) {
    current = current.resolve(doc) as Node | undefined;
  }
  return current;
}

function findPair(
  doc: Document.Parsed,
  items: Pair<unknown, unknown>[],
  key: string,
  depth: number,
): Pair<unknown, unknown> | undefined {
  const { isMap, isPair, isScalar, isSeq } = yamlLib();
  // An explicit key wins over any merge; of a duplicated key, the last one, as in the data.
  for (let i = items.length - 1; i >= 0; i--) {
    const pair = items[i];
    if (isPair(pair) && isScalar(pair.key) && String(pair.key.value) === key) return pair;
  }
  if (depth > 20) return undefined;
  for (const pair of items) {
    if (!isPair(pair) || !isScalar(pair.key) || pair.key.value !== '<<') continue;
    const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
    for (const source of sources) {
      const map = resolveAlias(doc, asNode(source));
      if (isMap(map)) {
        const found = findPair(doc, map.items as Pair<unknown, unknown>[], key, depth + 1);
        if (found) return found;
      }
    }
  }
  return undefined;
}

/** The offset where a node starts in the source. */
export function startOf(node: Node | undefined): number {
  return node?.range?.[0] ?? 0;
}

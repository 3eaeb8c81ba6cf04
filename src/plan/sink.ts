import type { Code } from './codes.js';
import type { Diagnostic } from './diagnostic.js';
import { locate, type PathSegment, startOf } from './locate.js';
import { type ParsedYaml, positionOf } from './parse.js';

/**
 * Which node of a path a diagnostic points at:
 * - `value`: the value written there (a wrong type, a bad duration);
 * - `key`: the key naming it (an unknown key, a service in a cycle);
 * - `missing`: the path does not exist; point at the mapping that lacks it.
 */
export type Target = 'value' | 'key' | 'missing';

/** Where the checks report problems, addressed by data path. */
export interface Sink {
  report(path: readonly PathSegment[], code: Code, message: string, hint?: string, target?: Target): void;
  /** How many problems were reported. */
  readonly count: number;
}

/**
 * Only counts problems: the fast path checks a plan parsed without source positions, and on the
 * first sign of trouble the plan is checked again with positions (see load.ts).
 */
export class ProblemCounter implements Sink {
  count = 0;

  report(): void {
    this.count += 1;
  }
}

/** Collects diagnostics addressed by data path, turning each path into a line and column. */
export class DiagnosticSink implements Sink {
  readonly diagnostics: Diagnostic[] = [];
  readonly #seen = new Set<string>();

  constructor(private readonly parsed: ParsedYaml) {}

  get count(): number {
    return this.diagnostics.length;
  }

  /** Records a problem at a path; the same code at the same place is reported once. */
  report(
    path: readonly PathSegment[],
    code: Code,
    message: string,
    hint?: string,
    target: Target = 'value',
  ): void {
    const { line, column } = positionOf(this.parsed.lines, this.offsetOf(path, target));
    const dedupe = `${line}:${column}:${code}:${message}`;
    if (this.#seen.has(dedupe)) return;
    this.#seen.add(dedupe);
    this.diagnostics.push({
      file: this.parsed.file,
      line,
      column,
      severity: 'error',
      code,
      message,
      ...(hint ? { hint } : {}),
    });
  }

  private offsetOf(path: readonly PathSegment[], target: Target): number {
    const where = locate(this.parsed.doc, path);
    switch (target) {
      case 'key':
        return startOf(where.key ?? where.node ?? where.nearestKey ?? where.nearest);
      case 'missing':
        return startOf(where.nearestKey ?? where.nearest);
      case 'value':
        return startOf(where.node ?? where.key ?? where.nearestKey ?? where.nearest);
    }
  }
}

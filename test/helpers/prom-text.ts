/** One sample of a Prometheus text file. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"(,|$)/y;

/**
 * Parses the Prometheus text exposition format as node_exporter's textfile collector must read
 * it, strictly: every sample belongs to a metric announced by `# TYPE` before it, names and label
 * values are well formed, values are numbers, and no sample carries a timestamp (the collector
 * refuses those). Throws on the first line that is not so, naming it.
 */
export function parsePromText(text: string): Sample[] {
  if (!text.endsWith('\n')) throw new Error('the file does not end with a newline');
  const typed = new Map<string, string>();
  const samples: Sample[] = [];
  text
    .slice(0, -1)
    .split('\n')
    .forEach((line, index) => {
      const fail = (why: string) => {
        throw new Error(`line ${index + 1}: ${why}: ${JSON.stringify(line)}`);
      };
      if (line === '') return;
      const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
      if (meta) {
        if (!NAME.test(meta[2]!)) fail('bad metric name');
        if (meta[1] === 'TYPE') {
          if (!['gauge', 'counter', 'untyped', 'histogram', 'summary'].includes(meta[3]!)) fail('bad type');
          if (typed.has(meta[2]!)) fail('a second TYPE');
          typed.set(meta[2]!, meta[3]!);
        }
        return;
      }
      if (line.startsWith('#')) fail('a comment that is neither HELP nor TYPE');
      const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!sample) fail('not `name{labels} value` (a timestamp, or spaces)');
      const [, name, body, raw] = sample!;
      if (!typed.has(name!)) fail('a sample before its TYPE');
      const labels: Record<string, string> = {};
      if (body) {
        LABEL.lastIndex = 0;
        while (LABEL.lastIndex < body.length) {
          const match = LABEL.exec(body);
          if (!match) fail('bad labels');
          if (match![1]! in labels) fail('a label twice');
          labels[match![1]!] = match![2]!.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
        }
      }
      const value =
        raw === '+Inf' ? Number.POSITIVE_INFINITY : raw === '-Inf' ? Number.NEGATIVE_INFINITY : Number(raw);
      if (raw !== 'NaN' && Number.isNaN(value)) fail('not a number');
      samples.push({ name: name!, labels, value });
    });
  return samples;
}

/** The value of the one sample of `name` whose labels include `labels`; undefined when there is none. */
export function sampleValue(
  samples: readonly Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value),
  );
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

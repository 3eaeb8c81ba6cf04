import type { CheckFormat } from '../../cli/format-names.js';
import type { Finding } from '../../run/engine/preflight.js';
import type { Redactor } from '../../run/redact.js';
import type { Colors } from '../style.js';
import { renderCheckGithub } from './github.js';
import { renderCheckJson } from './json.js';
import { renderCheckText } from './text.js';

type CheckRenderer = (file: string, findings: readonly Finding[], colors: Colors) => string;

/** `restore check --format <name>`: three printers of the same findings, keyed by the CLI's names. */
const CHECK_FORMATS: Readonly<Record<CheckFormat, CheckRenderer>> = {
  text: (file, findings, colors) => renderCheckText(file, findings, colors),
  json: (_file, findings) => renderCheckJson(findings),
  github: (file, findings) => renderCheckGithub(file, findings),
};

/** Findings in a format, redacted before any printer escapes them (a message may quote a secret). */
export function renderCheck(
  format: CheckFormat,
  file: string,
  findings: readonly Finding[],
  colors: Colors,
  redactor: Redactor,
): string {
  return CHECK_FORMATS[format](redactor.text(file), redactor.deep(findings), colors);
}

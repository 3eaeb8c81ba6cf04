import type { Option } from 'commander';

/**
 * An option's help text with its values as a person writes them: `(default: 4)` and
 * `choices: text, json`, not JSON (`"4"`), and no default for a repeatable option that starts empty.
 * Used as commander's `optionDescription` (configureHelp), which subcommands inherit.
 */
export function optionDescription(option: Option): string {
  const extra: string[] = [];
  if (option.argChoices) extra.push(`choices: ${option.argChoices.join(', ')}`);
  const shown = shownDefault(option);
  if (shown !== undefined) extra.push(`default: ${shown}`);
  if (option.envVar !== undefined) extra.push(`env: ${option.envVar}`);
  if (extra.length === 0) return option.description;
  return option.description ? `${option.description} (${extra.join(', ')})` : `(${extra.join(', ')})`;
}

function shownDefault(option: Option): string | undefined {
  if (!(option.required || option.optional)) return undefined; // a flag that takes no value
  if (option.defaultValueDescription) return option.defaultValueDescription;
  const value: unknown = option.defaultValue;
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return undefined;
  return Array.isArray(value) ? value.join(',') : String(value);
}

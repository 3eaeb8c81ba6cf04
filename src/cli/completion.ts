import { type Command, Help, type Option } from 'commander';
import { parseYamlLeniently } from '../plan/parse.js';
import { readPlanSource } from '../plan/source.js';
import { unreachable } from '../util/unreachable.js';
import type { CompletionShell } from './shells.js';

/**
 * Shell completion: `restore completion bash|zsh|fish` prints a script; the script asks
 * `restore __complete -- <words up to the cursor>` what fits, so commands, flags and their values
 * come from the same commander definitions as `--help`, and service and stage names from the plan
 * named on the line (read leniently: a plan being written is often invalid).
 */

/** What `__complete` prints instead of candidates when the shell should complete file names. */
export const FILES = ':files';

const help = new Help();

/** Options whose value is a service or stage name of the plan on the line. */
const PLAN_NAMES: Record<string, 'services' | 'stages'> = {
  '--only': 'services',
  '--approve': 'stages',
  '--stage': 'stages',
};

/** Candidates for the last word of `words` (the words after `restore`, the last one being typed). */
export async function completions(program: Command, words: readonly string[]): Promise<string[]> {
  const current = words.at(-1) ?? '';
  let command = program;
  const positionals: string[] = [];
  let awaitingValue: Option | undefined;
  for (const word of words.slice(0, -1)) {
    if (awaitingValue) {
      awaitingValue = undefined;
      continue;
    }
    if (word.startsWith('-')) {
      const option = findOption(command, word);
      if (option && (option.required || option.optional) && !word.includes('=')) awaitingValue = option;
      continue;
    }
    const sub = positionals.length === 0 ? findCommand(command, word) : undefined;
    if (sub) command = sub;
    else positionals.push(word);
  }

  const matching = (candidates: Iterable<string>) => [...candidates].filter((c) => c.startsWith(current));
  if (awaitingValue) {
    if (awaitingValue.argChoices) return matching(awaitingValue.argChoices);
    const kind = awaitingValue.long ? PLAN_NAMES[awaitingValue.long] : undefined;
    if (kind) {
      const plan = positionals[0];
      // A comma-separated list: complete the name after the last comma.
      const done = current.slice(0, current.lastIndexOf(',') + 1);
      const given = new Set(done.split(','));
      const names = plan ? await namesInPlan(plan, kind) : [];
      return names
        .filter((name) => !given.has(name))
        .map((name) => done + name)
        .filter((candidate) => candidate.startsWith(current));
    }
    return [FILES];
  }
  if (current.startsWith('-')) {
    return matching(
      help.visibleOptions(command).flatMap((option) => [option.long, option.short].filter(isString)),
    );
  }
  const subcommands = help.visibleCommands(command).map((sub) => sub.name());
  if (positionals.length === 0 && subcommands.length > 0 && command.registeredArguments.length === 0) {
    return matching(subcommands);
  }
  return command.registeredArguments.length > 0 ? [FILES] : [];
}

function findOption(command: Command, word: string): Option | undefined {
  const flag = word.split('=')[0];
  return command.options.find((option) => option.long === flag || option.short === flag);
}

function findCommand(command: Command, name: string): Command | undefined {
  return command.commands.find((sub) => sub.name() === name || sub.aliases().includes(name));
}

function isString(value: string | undefined): value is string {
  return value !== undefined;
}

/** Service or stage names of a plan, read leniently; none when the file is not a readable plan. */
async function namesInPlan(file: string, kind: 'services' | 'stages'): Promise<string[]> {
  // readPlanSource refuses a FIFO or a device from its stat, before opening it.
  const source = await readPlanSource(file);
  if (!source.ok || source.value.kind !== 'text') return [];
  const data = parseYamlLeniently(source.value.text);
  if (!isRecord(data)) return [];
  if (kind === 'services') return isRecord(data.services) ? Object.keys(data.services).sort() : [];
  if (!Array.isArray(data.stages)) return [];
  return data.stages.flatMap((stage) =>
    isRecord(stage) && typeof stage.name === 'string' ? [stage.name] : [],
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The completion script for a shell; `name` is the command it completes. */
export function completionScript(shell: CompletionShell, name = 'restore'): string {
  switch (shell) {
    case 'bash':
      return `# ${name} completion for bash. Load it with
#   source <(${name} completion bash)
# in ~/.bashrc, or save it as ~/.local/share/bash-completion/completions/${name}
_${name}_complete() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" out IFS=$'\\n'
  out=$(${name} __complete -- "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
  if [ "$out" = "${FILES}" ]; then
    compopt -o filenames 2>/dev/null
    COMPREPLY=($(compgen -f -- "$cur"))
  else
    COMPREPLY=($out)
  fi
}
complete -F _${name}_complete ${name}
`;
    case 'zsh':
      return `#compdef ${name}
# ${name} completion for zsh. Load it with
#   source <(${name} completion zsh)
# in ~/.zshrc after compinit, or save it as _${name} in a directory of $fpath
_${name}() {
  local out
  out=$(${name} __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)
  if [[ "$out" == "${FILES}" ]]; then
    _files
  else
    local -a candidates
    candidates=("\${(@f)out}")
    compadd -Q -a candidates
  fi
}
compdef _${name} ${name}
`;
    case 'fish':
      return `# ${name} completion for fish. Load it with
#   ${name} completion fish | source
# or save it as ~/.config/fish/completions/${name}.fish
function __${name}_complete
    set -l out (${name} __complete -- (commandline -opc)[2..-1] (commandline -ct) 2>/dev/null)
    if test "$out" = "${FILES}"
        __fish_complete_path (commandline -ct)
    else
        printf '%s\\n' $out
    end
end
complete -c ${name} -f -a '(__${name}_complete)'
`;
    default:
      return unreachable(shell);
  }
}

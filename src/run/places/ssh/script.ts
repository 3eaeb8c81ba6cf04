import { randomBytes } from 'node:crypto';
import { quote } from 'shlex';
import type { ResolvedCommand } from '../../../plan/model.js';
import { REDACTED, Redactor } from '../../redact.js';

/**
 * The POSIX sh scripts restore sends to a host. Every word of the plan is single-quoted for the
 * remote shell, so arguments arrive exactly as written: metacharacters stay plain characters.
 *
 * A script reaches the host on ssh's standard input, which then stays open: when it closes
 * (restore stopped the command, or the connection died), a watcher on the host terminates what
 * the script started. ssh itself cannot do that: without a terminal, a dropped session leaves
 * its commands running.
 */

/**
 * What ssh asks the remote login shell to run, whatever that shell is (sh, bash, zsh, csh, fish):
 * a POSIX sh that reads its script from standard input. No other process: each one costs the
 * host a fork and an exec per command.
 */
export const REMOTE_COMMAND_LINE = 'exec sh';

/**
 * A script as sent: one brace group, which sh parses whole before it runs any of it, so nothing
 * a command or a watcher later reads from standard input can be part of the script. A script
 * whose input is not watched gets /dev/null as input once parsed.
 */
export function framed(script: string, watched: boolean): string {
  return `{\n${watched ? '' : 'exec </dev/null\n'}${script}}\n`;
}

/**
 * What a script prints last, with its exit status: the sign for restore to close ssh's standard
 * input, so that ssh exits. A fixed prefix and a random part per restore process, so that no
 * command's own output says it by chance.
 */
export const END_MARKER = `restore-end-${randomBytes(6).toString('hex')}`;

/** The end marker, with the script's exit status (after the last line of output, or on it). */
const END = `printf '${END_MARKER} %s\n' "$restore_rc"`;

/**
 * Reads a line of a watched script's output: the end marker is restore's, not the command's,
 * and carries the command's exit status (the command is over, whatever it left running).
 */
export function readEndMarker(line: string): { output?: string; exitCode?: number } {
  const at = line.indexOf(END_MARKER);
  if (at < 0) return { output: line };
  const status = Number(line.slice(at + END_MARKER.length).trim());
  return {
    ...(at > 0 ? { output: line.slice(0, at) } : {}),
    ...(Number.isInteger(status) ? { exitCode: status } : {}),
  };
}

/** Exit status of a script whose working directory cannot be entered. */
export const REMOTE_CWD_FAILED = 125;

/**
 * A non-daemon command, in the process group of the ssh session (sshd starts each session in a
 * session of its own, and `exec sh` keeps the leader's pid, so the group is `$$`). When the
 * connection closes before the command ends, the watcher terminates that whole group, itself
 * last: the command, whatever it started, and the script's shell.
 */
export function runScript(command: ResolvedCommand): string {
  // Should the session's shell not lead a group (a wrapper forked it), `kill -$$` finds no group
  // and the command's own pid is signalled instead.
  const signal = (name: string) => `kill -${name} -$$ 2>/dev/null || kill -${name} $restore_pid 2>/dev/null`;
  return [
    'exec 3<&0',
    ...prelude(command),
    `${words(command)} </dev/null 3<&- &`,
    'restore_pid=$!',
    // `read`, not `cat`: a builtin, so no process to start. The watcher outlives its own SIGTERM.
    `(trap '' TERM; while read -r restore_line; do :; done <&3; ${signal('TERM')}; sleep 5; ${signal('KILL')}) >/dev/null 2>&1 &`,
    'restore_watch=$!',
    'wait $restore_pid',
    'restore_rc=$?',
    'kill -KILL $restore_watch 2>/dev/null',
    END,
    'exit $restore_rc',
    '',
  ].join('\n');
}

/** Marker line a daemon script prints with the daemon's pid on the host. */
export const PID_MARKER = 'restore-remote-pid ';

/** Marker line a daemon script prints with its log's size before the daemon starts (`log` checks). */
export const LOG_SIZE_MARKER = 'restore-remote-log-size ';

/** The remote directory of a plan's daemon logs and pid files, relative to the remote home. */
export function remoteServicesDir(plan: string): string {
  return `.restore/${plan}/services`;
}

/**
 * An awk program that copies its input to its output line by line with every secret value
 * replaced: RESTORE_REDACT_1 to RESTORE_REDACT_N in its environment, longest first, matched as
 * plain text (index, not regular expressions). Each line is flushed, so the log stays current.
 */
const REDACT_AWK = [
  'BEGIN { n = ENVIRON["RESTORE_REDACT_N"] + 0; for (i = 1; i <= n; i++) s[i] = ENVIRON["RESTORE_REDACT_" i] }',
  '{',
  '  line = $0',
  '  for (i = 1; i <= n; i++) {',
  '    out = ""',
  `    while ((p = index(line, s[i])) > 0) { out = out substr(line, 1, p - 1) "${REDACTED}"; line = substr(line, p + length(s[i])) }`,
  '    line = out line',
  '  }',
  '  print line; fflush()',
  '}',
].join('\n');

/**
 * A daemon: detached on the host in its own session, output appended to
 * `~/.restore/<plan>/services/<name>.log`, pid written beside it. The script then waits for
 * it, so restore learns at once if it exits before it is healthy, until restore closes the
 * connection (the watcher then ends the waiting shell, never the daemon).
 *
 * With `secrets`, the output reaches the log through a FIFO and an awk that redacts it (SPEC
 * section 5: nothing secret is written, service log files included). The values reach awk in
 * its environment, from the script on standard input: never in a process list.
 */
export function daemonScript(
  command: ResolvedCommand,
  plan: string,
  service: string,
  secrets: readonly string[] = [],
): string {
  const argv = words(command);
  const dir = `"$HOME"/${quote(remoteServicesDir(plan))}`;
  const log = `"$restore_dir"/${quote(`${service}.log`)}`;
  const fifo = `"$restore_dir"/${quote(`${service}.fifo`)}`;
  const values = new Redactor(secrets).values;
  const redactor =
    values.length === 0
      ? []
      : [
          // Without awk the daemon would wait forever for a reader of its FIFO: say so instead.
          `command -v awk >/dev/null 2>&1 || { echo 'awk not found on this host: restore needs it to redact the log of a plan with secrets' >&2; exit 125; }`,
          `rm -f ${fifo}; mkfifo ${fifo} || exit 125`,
          // mawk (Debian's awk) reads a pipe in 4 KiB blocks unless told `-W interactive`; other
          // awks refuse that option, or warn, and read lines as they come anyway.
          `restore_awk=$(awk -W interactive 'BEGIN { }' 2>&1 </dev/null) && [ -z "$restore_awk" ] && restore_awk='-W interactive' || restore_awk=`,
          [
            `RESTORE_REDACT_N=${values.length}`,
            ...values.map((value, i) => `RESTORE_REDACT_${i + 1}=${quote(value)}`),
            `awk $restore_awk ${quote(REDACT_AWK)} <${fifo} >>${log} 2>&1 3<&- &`,
          ].join(' '),
        ];
  const output = values.length === 0 ? `>>${log}` : `>${fifo}`;
  return [
    'exec 3<&0',
    'umask 077',
    `restore_dir=${dir}`,
    'mkdir -p "$restore_dir" || exit 125',
    // Where this daemon's own output will start in its log: `log` checks read from there.
    `echo "${LOG_SIZE_MARKER}$(wc -c <${log} 2>/dev/null || echo 0)"`,
    ...redactor,
    ...prelude(command),
    `if command -v setsid >/dev/null 2>&1; then setsid ${argv} </dev/null ${output} 2>&1 3<&- & else nohup ${argv} </dev/null ${output} 2>&1 3<&- & fi`,
    'restore_pid=$!',
    `echo "$restore_pid" >"$restore_dir"/${quote(`${service}.pid`)}`,
    `echo "${PID_MARKER}$restore_pid"`,
    '(while read -r restore_line; do :; done <&3; kill -TERM $$) >/dev/null 2>&1 &',
    'wait $restore_pid',
    'restore_rc=$?',
    END,
    'exit $restore_rc',
    '',
  ].join('\n');
}

/** Exit status of a stop or pid script that found no daemon running. */
export const REMOTE_NOT_RUNNING = 3;

/** Whether the daemon `$restore_pid`, or its process group, is alive. */
const ALIVE = '{ kill -0 -$restore_pid 2>/dev/null || kill -0 $restore_pid 2>/dev/null; }';

/**
 * Lines that read a daemon's pid file on the host into `$restore_pid`, and exit with
 * REMOTE_NOT_RUNNING (removing a stale file) unless that process or its group is alive.
 */
function livePid(plan: string, service: string): string[] {
  return [
    `restore_file="$HOME"/${quote(`${remoteServicesDir(plan)}/${service}.pid`)}`,
    `[ -f "$restore_file" ] || exit ${REMOTE_NOT_RUNNING}`,
    'read -r restore_pid <"$restore_file"',
    `case "$restore_pid" in ''|*[!0-9]*) rm -f "$restore_file"; exit ${REMOTE_NOT_RUNNING};; esac`,
    `${ALIVE} || { rm -f "$restore_file"; exit ${REMOTE_NOT_RUNNING}; }`,
  ];
}

/** Prints the pid of a daemon's live process on the host, from its pid file. */
export function daemonPidScript(plan: string, service: string): string {
  return [...livePid(plan, service), 'echo "$restore_pid"', ''].join('\n');
}

/** Stops a daemon from its pid file on the host: SIGTERM to its group, SIGKILL after the grace. */
export function stopDaemonScript(plan: string, service: string, graceMs: number): string {
  const tenths = Math.max(1, Math.ceil(graceMs / 100));
  return [
    ...livePid(plan, service),
    'kill -TERM -$restore_pid 2>/dev/null || kill -TERM $restore_pid 2>/dev/null',
    'restore_i=0',
    `while [ $restore_i -lt ${tenths} ] && ${ALIVE}; do sleep 0.1; restore_i=$((restore_i + 1)); done`,
    'kill -KILL -$restore_pid 2>/dev/null; kill -KILL $restore_pid 2>/dev/null',
    'rm -f "$restore_file"',
    'echo "$restore_pid"',
    '',
  ].join('\n');
}

/** The last lines of a daemon's log on the host. */
export function logTailScript(plan: string, service: string, lines: number): string {
  return `tail -c 4096 "$HOME"/${quote(`${remoteServicesDir(plan)}/${service}.log`)} 2>/dev/null | tail -n ${lines}\n`;
}

/**
 * A daemon's log on the host from byte `offset` on, at most `maxBytes`: first a line with the
 * log's size, then the bytes (`log` checks follow a remote daemon's output with it).
 */
export function logReadScript(plan: string, service: string, offset: number, maxBytes: number): string {
  const log = `"$HOME"/${quote(`${remoteServicesDir(plan)}/${service}.log`)}`;
  return [
    `restore_size=$(wc -c <${log} 2>/dev/null) || exit 0`,
    'echo $restore_size',
    `[ "$restore_size" -gt ${offset} ] || exit 0`,
    `tail -c +${offset + 1} ${log} | head -c ${maxBytes}`,
    '',
  ].join('\n');
}

/** Working directory and environment: the same for every kind of script. */
function prelude(command: ResolvedCommand): string[] {
  const lines: string[] = [];
  if (command.cwd !== null) lines.push(`cd -- ${quote(command.cwd)} || exit ${REMOTE_CWD_FAILED}`);
  for (const [name, value] of Object.entries(command.env)) lines.push(`export ${quote(`${name}=${value}`)}`);
  return lines;
}

/** The command's words, quoted; with `shell`, its script for the remote /bin/sh -c. */
function words(command: ResolvedCommand): string {
  const argv = command.shell ? ['/bin/sh', '-c', command.argv[0] ?? ''] : command.argv;
  return argv.map((word) => quote(word)).join(' ');
}

/** Exit status of a hash script that found no tool to hash with on the host. */
export const REMOTE_NO_HASHER = 4;

/** A path on the host as its shell reads it: `~/x` is the login's home, relative paths too. */
function hostPath(path: string): string {
  if (path === '~') return '"$HOME"';
  if (path.startsWith('~/')) return `"$HOME"/${quote(path.slice(2))}`;
  return quote(path);
}

/**
 * Prints the SHA-256 of a file on the host with whatever the host has: sha256sum (GNU, busybox),
 * else shasum (macOS, BSD with perl), else openssl. The file is read on standard input, so no
 * file name can be taken for an option by any of them; each prints the digest as 64 hex digits.
 */
export function hashFileScript(path: string): string {
  return [
    `restore_f=${hostPath(path)}`,
    regularFile('restore_f', ''),
    `exec <"$restore_f" || exit ${REMOTE_BAD_FILE}`,
    'if command -v sha256sum >/dev/null 2>&1; then sha256sum',
    'elif command -v shasum >/dev/null 2>&1; then shasum -a 256',
    'elif command -v openssl >/dev/null 2>&1; then openssl dgst -sha256',
    `else echo 'none of sha256sum, shasum, openssl is installed' >&2; exit ${REMOTE_NO_HASHER}`,
    'fi',
    '',
  ].join('\n');
}

/** Exits 0 when `program` can be run on the host: a path that is executable, or a name on its PATH. */
export function hasProgramScript(program: string): string {
  if (program.includes('/')) return `[ -f ${hostPath(program)} ] && [ -x ${hostPath(program)} ]\n`;
  return `command -v ${quote(program)} >/dev/null 2>&1\n`;
}

/**
 * Exits 0 when a command's working directory `path` can be entered on the host: the very `cd`
 * a command's script does (prelude), in a subshell, so the answer is the one the run would get.
 */
export function hasDirectoryScript(path: string): string {
  return `(cd -- ${quote(path)}) >/dev/null 2>&1\n`;
}

/** Prints the host's clock in whole seconds since the epoch (POSIX `date` has no %s; every current one does). */
export function clockScript(): string {
  return 'date +%s\n';
}

/** Exit status of restore's own scripts for a file that is missing, not a regular file, or too large. */
export const REMOTE_BAD_FILE = 2;
/** Exit status of a signature script on a host without ssh-keygen. */
export const REMOTE_NO_SSH_KEYGEN = 4;
/** Exit status of a signature script whose signature ssh-keygen did not accept (its own is 255, ssh's too). */
export const REMOTE_BAD_SIGNATURE = 5;

/**
 * Fails with REMOTE_BAD_FILE, in words on stderr, unless `variable` names a regular file: a
 * directory given as an artifact is a mistake to say so, not a read error.
 */
function regularFile(variable: string, what: string): string {
  return [
    `if [ -d "$${variable}" ]; then printf '%s%s is a directory, not a file\\n' ${quote(what)} "$${variable}" >&2; exit ${REMOTE_BAD_FILE}; fi`,
    `[ -f "$${variable}" ] || { printf '%s%s: no such file\\n' ${quote(what)} "$${variable}" >&2; exit ${REMOTE_BAD_FILE}; }`,
  ].join('\n');
}

/**
 * Prints a text file of at most `maxBytes` (a `verify:` manifest); a larger one is refused, so
 * that a huge file never reaches restore's memory.
 */
export function readFileScript(path: string, maxBytes: number): string {
  return [
    `restore_f=${hostPath(path)}`,
    regularFile('restore_f', ''),
    `restore_n=$(wc -c <"$restore_f") || exit ${REMOTE_BAD_FILE}`,
    `if [ "$restore_n" -gt ${maxBytes} ]; then printf '%s is larger than ${maxBytes} bytes\\n' "$restore_f" >&2; exit ${REMOTE_BAD_FILE}; fi`,
    'cat -- "$restore_f"',
    '',
  ].join('\n');
}

/**
 * Checks an OpenSSH signature with `ssh-keygen -Y verify`, the signed file on its standard input
 * (no file name can be taken for an option). Each file is looked at first so that a missing one
 * is named in words rather than by ssh-keygen's own, terser, message. Run on a host over ssh, and
 * on this machine by /bin/sh (the same words, the same answers).
 */
export function verifySignatureScript(request: {
  file: string;
  signature: string;
  allowedSigners: string;
  identity: string;
  namespace: string;
}): string {
  return [
    `restore_f=${hostPath(request.file)}`,
    `restore_s=${hostPath(request.signature)}`,
    `restore_a=${hostPath(request.allowedSigners)}`,
    regularFile('restore_f', ''),
    regularFile('restore_s', 'signature '),
    regularFile('restore_a', 'allowed_signers '),
    `command -v ssh-keygen >/dev/null 2>&1 || { echo 'ssh-keygen is not installed' >&2; exit ${REMOTE_NO_SSH_KEYGEN}; }`,
    `ssh-keygen -Y verify -f "$restore_a" -I ${quote(request.identity)} -n ${quote(request.namespace)} -s "$restore_s" <"$restore_f" || exit ${REMOTE_BAD_SIGNATURE}`,
    '',
  ].join('\n');
}

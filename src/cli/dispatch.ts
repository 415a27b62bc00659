// `tollgate <command> [flags]`: finds the longest command name matching the arguments, answers
// --help and --version, parses the command's flags strictly, and maps failures to exit codes
// (0 for help, 2 for usage, 1 otherwise). Every refusal names what was wrong and how to fix it.
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/load.js';
import type { Command } from './command.js';
import { ApiError } from './admin-client.js';
import { UsageError } from './commands/keys.js';
import { commandHelp, groupHelp, rootHelp, version } from './help-text.js';

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

const processIo: CliIo = { out: (line) => process.stdout.write(`${line}\n`), err: (line) => process.stderr.write(`${line}\n`) };

const helpFlags = new Set(['--help', '-h']);
// A help flag counts only before `--`, where everything is a positional.
const asksHelp = (args: readonly string[]) => {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((a) => helpFlags.has(a));
};

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    previous = row;
  }
  return previous[b.length]!;
}

// The nearest known name, when it is near enough to be a typo.
export function closest(word: string, known: readonly string[]): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const name of known) {
    const d = distance(word, name);
    if (!best || d < best.d) best = { name, d };
  }
  return best && best.d <= Math.max(2, Math.floor(word.length / 3)) ? best.name : undefined;
}

// node:util's messages quote the offending flag; ours name it and say what to do instead.
function flagProblem(command: Command, err: Error & { code?: string }): string | undefined {
  const flag = /'(-{1,2}[^' ]+)/.exec(err.message)?.[1];
  const helpHint = `see tollgate ${command.name} --help`;
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag) {
    const suggestion = closest(flag.replace(/^-+/, ''), Object.keys(command.options));
    return `unknown flag ${flag}${suggestion ? `; did you mean --${suggestion}?` : ''} (${helpHint} for its flags)`;
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag) {
    const name = flag.replace(/^-+/, '');
    return command.options[name]?.type === 'string' ? `${flag} needs a value: ${flag} VALUE (${helpHint})` : `${flag} takes no value: write ${flag} alone (${helpHint})`;
  }
  if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `${err.message} (${helpHint})`;
  return undefined;
}

export async function dispatch(commands: readonly Command[], argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [first] = argv;
  if (first === '--version' || first === '-V' || first === 'version') {
    io.out(`tollgate ${version()}`);
    return 0;
  }
  if (first === undefined || helpFlags.has(first) || first === 'help') {
    // `tollgate help budgets set` is `tollgate budgets set --help`.
    if (first === 'help' && argv.length > 1) return dispatch(commands, [...argv.slice(1), '--help'], io);
    io.out(rootHelp(commands));
    return 0;
  }
  const command = [...commands].sort((a, b) => b.name.length - a.name.length).find((c) => c.name.split(' ').every((word, i) => argv[i] === word));
  if (!command) {
    const group = commands.filter((c) => c.name.split(' ')[0] === first && c.name.includes(' '));
    if (group.length > 0) {
      if (asksHelp(argv)) {
        io.out(groupHelp(first, group));
        return 0;
      }
      const sub = argv[1] && !argv[1].startsWith('-') ? argv[1] : undefined;
      const guess = sub ? closest(sub, group.map((c) => c.name.split(' ').slice(1).join(' '))) : undefined;
      io.err(`tollgate ${first}: ${sub ? `unknown subcommand ${sub}${guess ? `; did you mean ${first} ${guess}?` : ''}` : 'name a subcommand'}\n\n${groupHelp(first, group)}`);
      return 2;
    }
    const guess = closest(first, [...new Set(commands.map((c) => c.name.split(' ')[0]!))]);
    io.err(`tollgate: unknown command ${first}${guess ? `; did you mean ${guess}?` : ''} (tollgate --help lists the commands)`);
    return 2;
  }
  const args = argv.slice(command.name.split(' ').length);
  if (asksHelp(args)) {
    io.out(commandHelp(command));
    return 0;
  }
  try {
    const { values, positionals } = parseArgs({ args, options: command.options, allowPositionals: true, strict: true });
    const code = await command.run({ values: values as Record<string, string | boolean | undefined>, positionals, out: io.out });
    return code ?? 0;
  } catch (err) {
    const e = err as Error & { code?: string };
    const problem = flagProblem(command, e);
    io.err(`tollgate ${command.name}: ${problem ?? e.message}`);
    if (problem) return 2;
    if (err instanceof ApiError && err.status === 400) return 2;
    return err instanceof UsageError || err instanceof ConfigError ? 2 : 1;
  }
}

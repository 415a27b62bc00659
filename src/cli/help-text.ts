// The usage text `--help` prints: the whole CLI, a group of subcommands (`tollgate users --help`)
// or one command with its flags, all derived from the command registry.
import { readFileSync } from 'node:fs';
import type { Command } from './command.js';

export function rootHelp(commands: readonly Command[]): string {
  return [
    'usage: tollgate <command> [flags]',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(26)} ${c.summary}`),
    '',
    'tollgate <command> --help shows a command\'s flags; tollgate --version prints the version.',
  ].join('\n');
}

export function groupHelp(group: string, commands: readonly Command[]): string {
  return [`usage: tollgate ${group} <subcommand> [flags]`, '', ...commands.map((c) => `  ${c.name.padEnd(26)} ${c.summary}`)].join('\n');
}

export function commandHelp(command: Command): string {
  const flags = Object.entries(command.options).map(([name, option]) => {
    const spelled = `${option.short ? `-${option.short}, ` : ''}--${name}${option.type === 'string' ? ' <value>' : ''}`;
    const fallback = option.default === undefined || option.default === false ? '' : `default: ${String(option.default)}`;
    return `  ${spelled.padEnd(28)} ${fallback}`.trimEnd();
  });
  return [
    `usage: tollgate ${command.name}${command.args ? ` ${command.args}` : ''}${flags.length > 0 ? ' [flags]' : ''}`,
    '',
    command.summary,
    '',
    'flags:',
    ...flags,
    `  ${'-h, --help'.padEnd(28)} show this help`,
  ].join('\n');
}

// The package's own version: package.json sits two levels above src/cli (as config/ does for load.ts).
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

// A CLI command: a name path (`keys create`), its flags for node:util parseArgs, and a run
// function. Commands print through `out` so tests can capture what they say.
import type { ParseArgsConfig } from 'node:util';

export interface CommandContext {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  out: (line: string) => void;
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  // Positional arguments as the usage line shows them (`USER`, `FILE`); none when unset.
  readonly args?: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  run(ctx: CommandContext): Promise<number | void>;
}

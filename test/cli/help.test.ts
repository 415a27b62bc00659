// Every command and group of the CLI answers --help with its usage and exit 0, unknown flags and
// commands are refused naming them, --version prints the package's version, and `config check`
// validates a file with the loader `serve` uses, naming each problem's path.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dispatch } from '../../src/cli/dispatch.js';
import { commands } from '../../src/cli/registry.js';
import { runCli } from '../helpers/processes.js';

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await dispatch(commands, argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const groups = [...new Set(commands.filter((c) => c.name.includes(' ')).map((c) => c.name.split(' ')[0]!))];

describe('tollgate --help', () => {
  it.each(commands.map((c) => [c.name]))('tollgate %s --help prints its usage and exits 0', async (name) => {
    const command = commands.find((c) => c.name === name)!;
    const { code, out, err } = await run([...name.split(' '), '--help']);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain(`usage: tollgate ${name}`);
    expect(out).toContain(command.summary);
    for (const flag of Object.keys(command.options)) expect(out).toContain(`--${flag}`);
  });

  it.each(groups.map((g) => [g]))('tollgate %s --help lists the group\'s subcommands and exits 0', async (group) => {
    const { code, out } = await run([group, '--help']);
    expect(code).toBe(0);
    for (const c of commands.filter((c) => c.name.startsWith(`${group} `))) expect(out).toContain(c.name);
  });

  it('lists every command at the top level, with -h and help too', async () => {
    for (const argv of [['--help'], ['-h'], ['help'], []]) {
      const { code, out } = await run(argv);
      expect(code).toBe(0);
      for (const c of commands) expect(out).toContain(c.name);
    }
    expect((await run(['help', 'budgets', 'set'])).out).toContain('usage: tollgate budgets set');
  });

  it('refuses an unknown flag naming it and the flag meant, exit 2', async () => {
    const { code, err } = await run(['budgets', 'set', '--limt', '5']);
    expect(code).toBe(2);
    expect(err).toContain('unknown flag --limt');
    expect(err).toContain('did you mean --limit?');
    expect(err).toContain('tollgate budgets set --help');
  });

  it('refuses a flag missing its value, and a value given to a switch, naming the flag', async () => {
    expect(await run(['budgets', 'set', '--limit'])).toMatchObject({ code: 2, err: expect.stringContaining('--limit needs a value') });
    expect(await run(['keys', 'list', '--active=yes'])).toMatchObject({ code: 2, err: expect.stringContaining('--active takes no value') });
  });

  it('refuses unknown commands and subcommands with the nearest one, exit 2', async () => {
    expect(await run(['budgts', 'list'])).toMatchObject({ code: 2, err: expect.stringContaining('unknown command budgts; did you mean budgets?') });
    expect(await run(['budgets', 'lst'])).toMatchObject({ code: 2, err: expect.stringContaining('unknown subcommand lst; did you mean budgets list?') });
    expect(await run(['users'])).toMatchObject({ code: 2, err: expect.stringContaining('name a subcommand') });
  });

  it('the real binary exits 0 for --version and for budgets set --help', async () => {
    const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    const [shown, help, unknown] = await Promise.all([runCli(['--version'], {}), runCli(['budgets', 'set', '--help'], {}), runCli(['budgets', 'set', '--nope'], {})]);
    expect(shown).toMatchObject({ code: 0, stdout: `tollgate ${version}\n` });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: tollgate budgets set');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown flag --nope');
  }, 120_000);
});

describe('tollgate config check', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-config-check-'));

  it('accepts a valid file without starting anything', async () => {
    const file = join(dir, 'good.yaml');
    writeFileSync(file, 'server:\n  port: 9999\nbudget:\n  budgets:\n    - { scope: user, scopeId: "*", metric: tokens, window: day, limit: 1000 }\n');
    const { code, out } = await run(['config', 'check', file]);
    expect(code).toBe(0);
    expect(out).toContain(`${file}: ok`);
    expect(out).toContain('1 budget rules');
  });

  it('names the path of every problem and exits 1', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'server:\n  port: nope\nbudget:\n  budgets:\n    - { scope: user, scopeId: "*", metric: tokens, window: day, limit: -5 }\n');
    const { code, out } = await run(['config', 'check', file, '--json']);
    expect(code).toBe(1);
    const report = JSON.parse(out) as { valid: boolean; errors: string[] };
    expect(report.valid).toBe(false);
    expect(report.errors).toEqual(expect.arrayContaining([expect.stringMatching(/^server\.port: /), expect.stringMatching(/^budget\.budgets\[0\]\.limit: /)]));
  });

  it('says when the file cannot be read', async () => {
    const { code, out } = await run(['config', 'check', join(dir, 'missing.yaml')]);
    expect(code).toBe(1);
    expect(out).toContain('cannot read config file');
  });
});

/**
 * The `synod` command. Each subcommand lives in its own file and is added here;
 * `main` returns the exit status instead of exiting, so tests can call it.
 *
 * Exit status: 0 success, 1 the command ran and found a problem (for `sim`, a
 * violation), 2 the command line was wrong.
 */
import { Command, CommanderError } from 'commander';
import { benchCommand } from './bench-command.js';
import { chaosCommand } from './chaos-command.js';
import { processIo, type CliIo } from './io.js';
import { kvCommands } from './kv-commands.js';
import { labCommand } from './lab-command.js';
import { simCommand } from './sim-command.js';
import { startCommand } from './start-command.js';
import { upCommand } from './up-command.js';

export const USAGE_ERROR_EXIT = 2;

export function buildProgram(io: CliIo): Command {
  const program = new Command('synod')
    .description('Synod: Multi-Paxos consensus, a replicated key-value store, and a simulator that tries to break them')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (text) => io.write(text), writeErr: (text) => io.err(text.replace(/\n$/, '')) })
    .exitOverride();
  // addCommand does not pass settings down by itself: exit override, output and
  // help-after-error must reach every subcommand for the exit statuses to hold.
  for (const command of [upCommand(io), startCommand(io), ...kvCommands(io), simCommand(io), labCommand(io), benchCommand(io), chaosCommand(io)]) program.addCommand(command.copyInheritedSettings(program));
  return program;
}

export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let code = 0;
  const tracked: CliIo = { ...io, setExitCode: (value) => void (code = value) };
  const program = buildProgram(tracked);
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    // --help and --version end with code 0; every other commander error is a usage error.
    return error.exitCode === 0 ? 0 : USAGE_ERROR_EXIT;
  }
  return code;
}

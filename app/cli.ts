import type { Command } from './commands/command.ts';
import { deadLetterCommand } from './commands/deadLetterCommand.ts';
import { keysCommand } from './commands/keysCommand.ts';
import { mappingCommand } from './commands/mappingCommand.ts';
import { sendCommand } from './commands/sendCommand.ts';
import { serveCommand } from './commands/serveCommand.ts';
import { statusCommand } from './commands/statusCommand.ts';
import { tokenCommand } from './commands/tokenCommand.ts';
import { mpiCommand } from './commands/mpiCommand.ts';
import { reindexCommand } from './commands/reindexCommand.ts';

/** Every `hub` subcommand; a new one is a module under app/commands and a line here. */
const COMMANDS: Command[] = [serveCommand, sendCommand, statusCommand, deadLetterCommand, tokenCommand, mappingCommand, mpiCommand, keysCommand, reindexCommand];

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `usage: hub <command> [options]\n\n${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(help());
    return name ? 0 : 2;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`hub: unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    process.stderr.write(`hub ${name}: ${(err as Error).message}\n`);
    return 1;
  }
}

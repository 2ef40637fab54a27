/** A `hub <name>` subcommand. Returns the process exit code. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(args: string[]): Promise<number>;
}

/** `--flag value` and `--switch` options plus positional arguments. */
export interface ParsedArgs {
  positional: string[];
  options: Record<string, string | true>;
}

export function parseArgs(args: string[]): ParsedArgs {
  const positional: string[] = [];
  const options: Record<string, string | true> = {};
  for (let i = 0; i < args.length; i += 1) {
    const a = args[i]!;
    if (a.startsWith('--')) {
      const [k, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
      const next = args[i + 1];
      if (inline !== undefined) options[k] = inline;
      else if (next !== undefined && !next.startsWith('--')) {
        options[k] = next;
        i += 1;
      } else options[k] = true;
    } else positional.push(a);
  }
  return { positional, options };
}

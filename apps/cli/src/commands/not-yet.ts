import { CliError, type Command } from "../command.js";

/** Placeholder for a subcommand whose package has not landed yet; replaced by a real file. */
export function notYet(name: string, summary: string, usage: string): Command {
  return {
    name,
    summary: `${summary} (not implemented yet)`,
    usage,
    async run() {
      throw new CliError("ERR_NOT_IMPLEMENTED", `"p2pd ${name}" is not implemented yet`);
    },
  };
}

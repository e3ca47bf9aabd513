import { readFile } from "node:fs/promises";
import { type CommandContext, type OptionSpec, str, usageError } from "./command.js";

/** The `--NAME-file PATH` flag that goes with secret flag `--NAME`. */
export function secretFileOption(name: string, what: string): Record<string, OptionSpec> {
  return {
    [`${name}-file`]: {
      type: "string",
      arg: "PATH",
      help: `read the ${what} from a file (first line), kept out of \`ps\``,
    },
  };
}

/** `--turn-pass` -> `P2PD_TURN_PASS`. */
export function secretEnvName(name: string): string {
  return `P2PD_${name.toUpperCase().replace(/-/g, "_")}`;
}

/**
 * A secret flag's value: `--NAME-file PATH` (first line of the file), the `P2PD_NAME` environment
 * variable, or `--NAME` (visible to every user in `ps`: kept for scripts). Two of them at once
 * is a usage error; an unreadable or empty file too.
 */
export async function secret(ctx: CommandContext, name: string): Promise<string | undefined> {
  const direct = str(ctx, name);
  const file = str(ctx, `${name}-file`);
  if (direct !== undefined && file !== undefined)
    throw usageError(`--${name} and --${name}-file are exclusive`);
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      throw usageError(
        `--${name}-file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
    const line = text.split(/\r?\n/)[0] ?? "";
    if (line === "") throw usageError(`--${name}-file ${file}: empty`);
    return line;
  }
  if (direct !== undefined) return direct;
  const env = process.env[secretEnvName(name)];
  return env === undefined || env === "" ? undefined : env;
}

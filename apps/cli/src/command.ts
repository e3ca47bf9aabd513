import type { ParseArgsConfig } from "node:util";

/** Exit codes of the `p2pd` command (documented in apps/cli/README.md). */
export const EXIT = {
  OK: 0,
  /** The operation ran and failed (network error, timeout, no answer, quorum not reached). */
  FAILURE: 1,
  /** Bad command line: unknown command or flag, missing or malformed argument. */
  USAGE: 2,
  /** Interrupted by SIGINT/SIGTERM before finishing. */
  INTERRUPTED: 130,
} as const;

export type OptionSpec = NonNullable<ParseArgsConfig["options"]>[string] & {
  /** One line for --help. */
  help: string;
  /** Placeholder shown in --help, e.g. "HOST:PORT". */
  arg?: string;
};

/** What every subcommand receives. Machine output goes to stdout, everything else to stderr. */
export interface CommandContext {
  positionals: string[];
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  /** True when --json was given: `result()` prints one JSON document on stdout. */
  json: boolean;
  /** Aborted on SIGINT/SIGTERM. Long-running commands stop when it fires. */
  signal: AbortSignal;
  /** Prints the command's result: JSON on stdout with --json, else `human` (or the JSON, pretty). */
  result(value: unknown, human?: string): void;
  /** Progress and log lines: always stderr, never mixed into machine output. */
  progress(line: string): void;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** Typed access to parsed flags. */
export function str(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.values[name];
  return typeof v === "string"
    ? v
    : Array.isArray(v)
      ? (v.at(-1) as string | undefined)
      : undefined;
}

export function strs(ctx: CommandContext, name: string): string[] {
  const v = ctx.values[name];
  return Array.isArray(v)
    ? v.filter((x): x is string => typeof x === "string")
    : typeof v === "string"
      ? [v]
      : [];
}

export function flag(ctx: CommandContext, name: string): boolean {
  return ctx.values[name] === true;
}

/** Parses a decimal integer flag in [min, max]; a usage error otherwise. */
export function intFlag(
  ctx: CommandContext,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const v = str(ctx, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw usageError(`--${name} must be an integer from ${min} to ${max}, got "${v}"`);
  }
  return Number(v);
}

export interface Command {
  name: string;
  summary: string;
  /** Usage after `p2pd NAME`, e.g. "HOST[:PORT] [--tcp]". */
  usage: string;
  options?: Record<string, OptionSpec>;
  /** Resolves to an exit code. Throwing a CliError maps to its exit code; any other error to FAILURE. */
  run(ctx: CommandContext): Promise<number>;
}

/** An error the CLI reports as `{ "error": { code, message } }` with a chosen exit code. */
export class CliError extends Error {
  readonly code: string;
  readonly exitCode: number;
  constructor(code: string, message: string, exitCode: number = EXIT.FAILURE) {
    super(message);
    this.name = "CliError";
    this.code = code;
    this.exitCode = exitCode;
  }
}

export function usageError(message: string): CliError {
  return new CliError("ERR_USAGE", message, EXIT.USAGE);
}

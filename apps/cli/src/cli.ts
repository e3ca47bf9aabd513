import { parseArgs } from "node:util";
import { CliError, type Command, type CommandContext, EXIT, type OptionSpec } from "./command.js";
import { commands } from "./commands/index.js";
import { VERSION } from "./version.js";

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  signal?: AbortSignal;
}

const COMMON: Record<string, OptionSpec> = {
  json: { type: "boolean", help: "machine-readable JSON on stdout (progress stays on stderr)" },
  help: { type: "boolean", short: "h", help: "show help for this command" },
  version: { type: "boolean", help: 'print the version (with --json: {"version"})' },
};

function optionLines(options: Record<string, OptionSpec>): string {
  return Object.entries(options)
    .map(([name, o]) => {
      const flag = `--${name}${o.type === "string" ? ` ${o.arg ?? "VALUE"}` : ""}`;
      return `  ${flag.padEnd(30)} ${o.help}${o.multiple ? " (repeatable)" : ""}`;
    })
    .join("\n");
}

export function mainHelp(): string {
  const rows = commands.map((c) => `  ${c.name.padEnd(14)} ${c.summary}`).join("\n");
  return `p2pd ${VERSION}: connect two computers directly, whatever NATs sit between them.

Usage: p2pd <command> [options]      p2pd <command> --help

Commands:
${rows}

Options:
  --help, -h     show this help
  --version, -v  print the version
  --json         on every command: one JSON document on stdout

Exit codes: 0 ok, 1 the operation failed, 2 bad command line, 130 interrupted.
`;
}

export function commandHelp(c: Command): string {
  return `Usage: p2pd ${c.name} ${c.usage}

${c.summary}

Options:
${optionLines({ ...(c.options ?? {}), ...COMMON })}
`;
}

function writeError(io: CliIo, json: boolean, err: { code: string; message: string }): void {
  if (json) io.stdout.write(`${JSON.stringify({ error: err })}\n`);
  io.stderr.write(`p2pd: ${err.message} (${err.code})\n`);
}

/** Runs the CLI on `argv` (without node and script) and resolves to the exit code. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  const wantsJson = argv.includes("--json");
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.stdout.write(mainHelp());
    return name === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (name === "--version" || name === "-v" || name === "version") {
    io.stdout.write(wantsJson ? `${JSON.stringify({ version: VERSION })}\n` : `${VERSION}\n`);
    return EXIT.OK;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    writeError(io, wantsJson, {
      code: "ERR_USAGE",
      message: `unknown command "${name}"; see p2pd --help`,
    });
    return EXIT.USAGE;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    const options = Object.fromEntries(
      Object.entries({ ...(command.options ?? {}), ...COMMON }).map(
        ([k, { help: _h, arg: _a, ...o }]) => [k, o],
      ),
    );
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
  } catch (e) {
    writeError(io, wantsJson, { code: "ERR_USAGE", message: (e as Error).message });
    return EXIT.USAGE;
  }
  if (parsed.values.help) {
    io.stdout.write(commandHelp(command));
    return EXIT.OK;
  }
  if (parsed.values.version) {
    io.stdout.write(wantsJson ? `${JSON.stringify({ version: VERSION })}\n` : `${VERSION}\n`);
    return EXIT.OK;
  }
  const json = parsed.values.json === true;
  const ctx: CommandContext = {
    positionals: parsed.positionals,
    values: parsed.values,
    json,
    signal: io.signal ?? new AbortController().signal,
    stdout: io.stdout,
    stderr: io.stderr,
    result(value, human) {
      if (json) io.stdout.write(`${JSON.stringify(value)}\n`);
      else io.stdout.write(`${human ?? JSON.stringify(value, null, 2)}\n`);
    },
    progress(line) {
      io.stderr.write(`${line}\n`);
    },
  };
  try {
    return await command.run(ctx);
  } catch (e) {
    if (ctx.signal.aborted) {
      writeError(io, json, { code: "ERR_INTERRUPTED", message: "interrupted" });
      return EXIT.INTERRUPTED;
    }
    const err = e as { code?: unknown; message?: unknown };
    const code = typeof err.code === "string" ? err.code : "ERR_UNEXPECTED";
    const message = typeof err.message === "string" ? err.message : String(e);
    writeError(io, json, { code, message });
    return e instanceof CliError ? e.exitCode : EXIT.FAILURE;
  }
}

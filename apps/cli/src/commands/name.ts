import { readFile } from "node:fs/promises";
import { ircdns, netifaces } from "p2pd";
import { CliError, type Command, EXIT, intFlag, str, usageError } from "../command.js";
import { effectiveIrc } from "../config.js";

type Outcome = {
  server: string;
  chan: string;
  ok: boolean;
  error?: { code: string; message: string };
};

function table(rows: Outcome[]): string {
  return rows
    .map(
      (r) =>
        `  ${r.ok ? "ok  " : "FAIL"} ${r.server} ${r.chan}${r.error ? ` ${r.error.code}` : ""}`,
    )
    .join("\n");
}

export const command: Command = {
  name: "name",
  summary: "register or look up an IRCDNS name (signed values kept in IRC channel topics)",
  usage: "register|lookup NAME.TLD [--value V] [--seed-file F] [--irc-servers LIST] [--json]",
  options: {
    value: { type: "string", arg: "V", help: "register: also store this value (ASCII)" },
    "seed-file": {
      type: "string",
      arg: "F",
      help: "register: file whose bytes are the seed (>= 24)",
    },
    "irc-servers": {
      type: "string",
      arg: "LIST",
      help: "comma-separated host:port (plain) or ircs://host:port (TLS), optional #domain; default: the public networks",
    },
    pw: { type: "string", arg: "PW", help: "the name's password (readers need it too)" },
    signer: {
      type: "string",
      arg: "KEY",
      help: "lookup: accept only values signed by this key (the `signer` a lookup printed)",
    },
    "cache-dir": {
      type: "string",
      arg: "DIR",
      help: "register: directory of the JSON cache (default ~/.p2pd)",
    },
    timeout: {
      type: "string",
      arg: "MS",
      help: "give up after this many milliseconds (default 120000)",
    },
  },
  async run(ctx) {
    const [verb, nameArg, ...extra] = ctx.positionals;
    if ((verb !== "register" && verb !== "lookup") || nameArg === undefined || extra.length > 0) {
      throw usageError("expected: register NAME.TLD | lookup NAME.TLD");
    }
    let name: ircdns.Name;
    let servers: ircdns.ServerSpec[] | undefined;
    try {
      const parsed = ircdns.parseName(nameArg);
      name = { ...parsed, pw: str(ctx, "pw") ?? "" };
      ircdns.parseName(name);
      const list = str(ctx, "irc-servers");
      servers = list === undefined ? undefined : ircdns.parseServerList(list);
    } catch (e) {
      throw usageError((e as Error).message);
    }
    const timeoutMs = intFlag(ctx, "timeout", 1, 3_600_000) ?? 120_000;
    // Lives as long as the command (the process exits after it).
    const { signal } = netifaces.deadline(timeoutMs, ctx.signal);
    const label = `${name.name}.${name.tld}`;

    if (verb === "lookup") {
      if (str(ctx, "value") !== undefined || str(ctx, "seed-file") !== undefined) {
        throw usageError("lookup takes no --value or --seed-file");
      }
      const dns = await ircdns.IRCDNS.start({
        servers: servers ?? (await effectiveIrc(signal)),
        signal,
        cacheDir: false,
      });
      try {
        ctx.progress(
          `looking up ${label} on ${dns.servers.length} servers (need ${dns.quorum.lookupSuccessMin} to agree)`,
        );
        const signer = str(ctx, "signer");
        const r = await dns.lookup(name, signer === undefined ? { signal } : { signal, signer });
        ctx.result(
          {
            name: label,
            value: r.value,
            time: r.time,
            signer: r.signer,
            agreeing: r.agreeing,
            servers: r.servers,
          },
          `${label} = ${r.value}\n  signed ${new Date(r.time * 1000).toISOString()} by ${r.signer}\n${table(r.servers)}`,
        );
        return EXIT.OK;
      } finally {
        await dns.close();
      }
    }

    if (str(ctx, "signer") !== undefined) throw usageError("register takes no --signer");
    const seedFile = str(ctx, "seed-file");
    if (seedFile === undefined)
      throw usageError("register needs --seed-file F (at least 24 bytes)");
    let seed: Uint8Array;
    try {
      seed = new Uint8Array(await readFile(seedFile));
    } catch (e) {
      throw new CliError(
        "ERR_SEED_FILE",
        `cannot read ${seedFile}: ${(e as Error).message}`,
        EXIT.USAGE,
      );
    }
    const value = str(ctx, "value");
    if (value !== undefined) {
      // Refuse a value that can never be stored before any channel is registered for it.
      ircdns.checkValue(value);
      const max = ircdns.maxValueBytes(ircdns.LINE_TOPIC_CAP);
      if (value.length > max) {
        throw new ircdns.ValueTooLargeError(
          `value of ${value.length} bytes exceeds ${max} (512-byte IRC lines)`,
          max,
        );
      }
    }
    const cacheDir = str(ctx, "cache-dir");
    const dns = await ircdns.IRCDNS.start({
      seed,
      servers: servers ?? (await effectiveIrc(signal)),
      signal,
      ...(cacheDir ? { cacheDir } : {}),
    });
    try {
      ctx.progress(
        `registering ${label} on ${dns.servers.length} servers (need ${dns.quorum.registerSuccessMin})`,
      );
      const reg = await dns.register(name, { signal });
      let stored: Awaited<ReturnType<typeof dns.store>> | undefined;
      if (value !== undefined) {
        ctx.progress(`storing a ${value.length}-byte value`);
        stored = await dns.store(value, name, { signal });
      }
      ctx.result(
        {
          name: label,
          registered: { succeeded: reg.succeeded, servers: reg.servers },
          ...(stored
            ? {
                value,
                stored: { succeeded: stored.succeeded, time: stored.time, servers: stored.servers },
              }
            : {}),
        },
        `${label} registered on ${reg.succeeded}/${dns.servers.length}\n${table(reg.servers)}${
          stored
            ? `\nvalue stored on ${stored.succeeded}/${dns.servers.length}\n${table(stored.servers)}`
            : ""
        }`,
      );
      return EXIT.OK;
    } finally {
      await dns.close();
    }
  },
};

import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { node as p2p } from "p2pd";
import {
  type Command,
  type CommandContext,
  EXIT,
  flag,
  intFlag,
  type OptionSpec,
  str,
  strs,
  usageError,
} from "../command.js";
import { effectiveIrc, effectiveLists } from "../config.js";
import { secret, secretFileOption } from "../secret.js";

/** Flags shared by `p2pd node`, `p2pd connect` and `p2pd demo`. */
export const NODE_OPTIONS: Record<string, OptionSpec> = {
  stun: { type: "string", multiple: true, arg: "HOST:PORT", help: "STUN server for the NAT test" },
  mqtt: {
    type: "string",
    multiple: true,
    arg: "URL",
    help: "MQTT broker for signaling, e.g. mqtt://HOST:1883, or `embedded` for an in-process one (default: the listed brokers that answer; loopback: in-process)",
  },
  turn: { type: "string", arg: "turn:HOST:PORT", help: "TURN server (for --strategies turn)" },
  "turn-user": { type: "string", arg: "U", help: "TURN username" },
  "turn-pass": {
    type: "string",
    arg: "P",
    help: "TURN password (visible in ps: prefer --turn-pass-file or env P2PD_TURN_PASS)",
  },
  ...secretFileOption("turn-pass", "TURN password"),
  "turn-realm": { type: "string", arg: "R", help: "TURN realm (default: from the server)" },
  port: { type: "string", arg: "N", help: "node listen port (default: any free port)" },
  interfaces: {
    type: "string",
    arg: "LIST",
    help: "auto (default), loopback, or comma-separated interface names",
  },
  "seed-file": {
    type: "string",
    arg: "PATH",
    help: "identity seed file (created with 32 random bytes if missing): a stable address",
  },
  "irc-servers": {
    type: "string",
    arg: "LIST",
    help: "IRC servers for names (host:port,...; default: the public networks)",
  },
  "nat-cache": { type: "string", arg: "DIR", help: "directory of the per-network NAT cache" },
  upnp: { type: "boolean", help: "map the node port on the gateway (UPnP / NAT-PMP / PCP)" },
  "insecure-plaintext": {
    type: "boolean",
    help: "unencrypted node connections, for peers that cannot encrypt (default: Noise)",
  },
  verbose: { type: "boolean", help: "debug log on stderr" },
};

/** The per-network caches' directory: $XDG_CACHE_HOME/p2pd or ~/.cache/p2pd. */
function defaultCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "p2pd");
}

async function loadSeed(path: string): Promise<Uint8Array> {
  // An unreadable or unwritable seed file is bad input: a usage error (exit 2), not a crash.
  const bad = (err: unknown) =>
    usageError(
      `--seed-file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  let raw: string;
  try {
    raw = (await readFile(path, "utf8")).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw bad(err);
    const seed = randomBytes(32);
    await writeFile(path, `${seed.toString("hex")}\n`, { mode: 0o600, flag: "wx" }).catch((e) => {
      throw bad(e);
    });
    return seed;
  }
  if (!/^[0-9a-f]{32,128}$/i.test(raw))
    throw usageError(`--seed-file ${path}: expected 32 to 128 hex digits`);
  return Buffer.from(raw, "hex");
}

async function turnServers(ctx: CommandContext): Promise<p2p.TurnServerConfig[] | undefined> {
  const url = str(ctx, "turn");
  if (!url) return undefined;
  if (/^turns:/i.test(url))
    throw usageError(
      `--turn ${url}: turns: (TLS) is not supported; refused, not sent in plaintext`,
    );
  if (!/^turn:/.test(url)) throw usageError(`--turn must look like turn:HOST:PORT, got "${url}"`);
  const user = str(ctx, "turn-user");
  const pass = await secret(ctx, "turn-pass");
  const realm = str(ctx, "turn-realm");
  return [
    {
      url,
      ...(user ? { username: user } : {}),
      ...(pass ? { password: pass } : {}),
      ...(realm ? { realm } : {}),
    },
  ];
}

/** Node options from the shared flags. */
export async function nodeOptions(ctx: CommandContext): Promise<p2p.StartNodeOptions> {
  const ifs = str(ctx, "interfaces") ?? "auto";
  const interfaces =
    ifs === "auto" || ifs === "loopback" ? ifs : ifs.split(",").filter((s) => s.length > 0);
  const port = intFlag(ctx, "port", 0, 65535);
  const seedFile = str(ctx, "seed-file");
  const mqttFlags = strs(ctx, "mqtt");
  const embedded = mqttFlags.includes("embedded");
  if (embedded && mqttFlags.length > 1)
    throw usageError("--mqtt embedded cannot be mixed with broker URLs");
  const mqtt = embedded ? [] : mqttFlags;
  for (const u of mqtt)
    if (!/^mqtts?:\/\/[^/]+/.test(u))
      throw usageError(`--mqtt must be mqtt://HOST:PORT or embedded, got "${u}"`);
  const stun = strs(ctx, "stun");
  const turn = await turnServers(ctx);
  const irc = str(ctx, "irc-servers");
  const natCache = str(ctx, "nat-cache");
  // Whatever the flags leave open comes from the lists in effect (bundled or the config file's),
  // probed at start; a loopback-only node stays offline.
  let servers: p2p.ServerLists | undefined;
  if (ifs !== "loopback" && (mqtt.length === 0 || stun.length === 0 || !turn)) {
    const lists = await effectiveLists(ctx.signal);
    servers = { ...lists, mqtt: embedded ? [] : lists.mqtt };
  }
  return {
    interfaces,
    ...(servers ? { servers, serverCache: natCache ?? defaultCacheDir() } : {}),
    ...(port === undefined ? {} : { port }),
    ...(seedFile ? { seed: await loadSeed(seedFile) } : {}),
    ...(mqtt.length ? { mqtt } : {}),
    ...(stun.length ? { stun } : {}),
    ...(turn ? { turn } : {}),
    // Names: the given IRC networks, else the config's or the default public ones
    // (@p2pd/ircdns, by IP); a loopback-only node reaches none.
    ...(irc
      ? { irc: irc.split(",") }
      : ifs === "loopback"
        ? {}
        : { irc: await effectiveIrc(ctx.signal) }),
    ...(natCache ? { natCache } : {}),
    ...(flag(ctx, "upnp") ? { upnp: true } : {}),
    ...(flag(ctx, "insecure-plaintext") ? { insecure: true } : {}),
    ...(flag(ctx, "verbose") ? { log: (l: string) => ctx.progress(`debug: ${l}`) } : {}),
    signal: ctx.signal,
  };
}

export const command: Command = {
  name: "node",
  summary: "run a P2P node that prints its address and serves ECHO",
  usage:
    "[--stun HOST:PORT] [--mqtt URL] [--turn turn:HOST:PORT --turn-user U --turn-pass P] [--name NAME] [--p2pd-compat] [--json]",
  options: {
    ...NODE_OPTIONS,
    name: {
      type: "string",
      arg: "NAME",
      help: "register this name for the node (on --irc-servers or the public networks)",
    },
    "p2pd-compat": {
      type: "boolean",
      help: "also accept Python P2PD nodes on a PLAINTEXT listener (its address: p2pdAddr)",
    },
  },
  async run(ctx) {
    const t0 = performance.now();
    const compat = flag(ctx, "p2pd-compat");
    const node = await p2p.startNode({
      ...(await nodeOptions(ctx)),
      ...(compat ? { p2pdCompat: true } : {}),
    });
    try {
      const readyMs = Math.round(performance.now() - t0);
      node.on("address", (addr: string) => ctx.progress(`address updated: ${addr}`));
      node.on("pipe", ({ pipe }: { pipe: { remote?: { host: string } } }) =>
        ctx.progress(`peer connected from ${pipe.remote?.host ?? "?"}`),
      );
      // The contract: one JSON line with "addr" as soon as the node accepts connections.
      ctx.stdout.write(
        `${JSON.stringify({
          addr: node.address,
          nodeId: node.nodeId,
          port: node.port,
          // The brokers the node listens on (an in-process broker's URL with --mqtt embedded).
          mqtt: node.options.mqtt ? [node.options.mqtt].flat() : [node.brokerUrl],
          readyMs,
          // Python P2PD's format (v3), listing the plaintext P2PD listener; null without --p2pd-compat.
          p2pdAddr: node.p2pdAddress ?? null,
        })}\n`,
      );
      if (compat)
        ctx.progress(
          `warning: P2PD compatibility is on: connections from Python P2PD nodes (to p2pdAddr) are PLAINTEXT, not encrypted or authenticated`,
        );
      // A name takes seconds on IRC: register after the address line, report on stderr.
      const name = str(ctx, "name");
      if (name) {
        node.register(name, { signal: ctx.signal }).then(
          (n) => ctx.progress(`name registered: ${n}`),
          (err) => ctx.progress(`name "${name}" not registered: ${(err as Error).message}`),
        );
      }
      ctx.progress(`node ${node.nodeId} ready in ${readyMs} ms; serving ECHO until interrupted`);
      await new Promise<void>((resolve) => {
        if (ctx.signal.aborted) return resolve();
        ctx.signal.addEventListener("abort", () => resolve(), { once: true });
      });
      return EXIT.INTERRUPTED;
    } finally {
      await node.close();
    }
  },
};

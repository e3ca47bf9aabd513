import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { DEFAULT_SERVERS, parseServer } from "@p2pd/ircdns";
import { ServerConfigError } from "./errors.js";
import {
  bundledServers,
  type Ctx,
  context,
  type MqttServerEntry,
  READERS,
  type ServerLists,
  type StunServerEntry,
  type TurnServerEntry,
} from "./list.js";

type Kind = keyof ServerLists;
const KINDS: readonly Kind[] = ["stun", "mqtt", "turn"];
/** Every setting a config file may hold: the server lists and the IRC networks for names. */
const SETTINGS: readonly string[] = [...KINDS, "irc"];
/** Longest IRC server entry (an ircs:// URL with a `?name=`). */
const MAX_IRC_ENTRY = 512;

/** What a config file says about one list: use these instead of the bundled ones, or add to them. */
export type ListOverride<T> = { mode: "replace" | "extend"; servers: T[] };

/**
 * A parsed config file. Each list is either an array (replaces the bundled list) or
 * `{"extend": [...]}` / `{"replace": [...]}`. Entries are objects like the bundled file's or short
 * strings: "HOST:PORT" (stun), "mqtt://HOST:PORT" (mqtt), "turn:HOST:PORT" (turn, no credentials).
 */
export interface ServerConfig {
  path: string;
  stun?: ListOverride<StunServerEntry>;
  mqtt?: ListOverride<MqttServerEntry>;
  turn?: ListOverride<TurnServerEntry>;
  /**
   * IRC networks for names (IRCDNS), as `@p2pd/ircdns` server strings ("ircs://IP:6697?name=HOST",
   * "HOST:PORT"); replaces or extends `DEFAULT_SERVERS`.
   */
  irc?: ListOverride<string>;
}

/** Largest config file read (bad input must not mean unbounded memory). */
const MAX_CONFIG_BYTES = 1 << 20;
const MAX_ENTRIES = 1024;

/**
 * Where the config file is: `P2PD_CONFIG` when set (then it must exist), else
 * `$XDG_CONFIG_HOME/p2pd/config.json` (default `~/.config`), which may be missing.
 */
export function configPath(env: NodeJS.ProcessEnv = process.env): {
  path: string;
  explicit: boolean;
} {
  if (env.P2PD_CONFIG) return { path: env.P2PD_CONFIG, explicit: true };
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  return { path: join(base, "p2pd", "config.json"), explicit: false };
}

/** Parses config text. Throws ServerConfigError (ERR_BAD_CONFIG) naming `file` and the field. */
export function parseServerConfig(text: string, file: string): ServerConfig {
  const c: Ctx = context("ERR_BAD_CONFIG", file, true);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    c.fail("", `not JSON (${(err as Error).message.split("\n")[0]})`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc))
    c.fail("", "not a JSON object");
  const out: ServerConfig = { path: file };
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    if (key.startsWith("$") || key === "comment") continue;
    if (!SETTINGS.includes(key))
      c.fail(key, `unknown setting (want one of ${SETTINGS.join(", ")})`);
    const kind = key as Kind | "irc";
    let mode: "replace" | "extend" = "replace";
    let list: unknown = value;
    let field: string = kind;
    if (!Array.isArray(value)) {
      const o = value as Record<string, unknown> | null;
      const keys = o && typeof o === "object" ? Object.keys(o) : [];
      if (keys.length !== 1 || (keys[0] !== "replace" && keys[0] !== "extend"))
        c.fail(kind, 'want a list, {"extend": [...]} or {"replace": [...]}');
      mode = keys[0] as "replace" | "extend";
      list = (o as Record<string, unknown>)[mode];
      field = `${kind}.${mode}`;
      if (!Array.isArray(list)) c.fail(field, "not a list");
    }
    const arr = list as unknown[];
    if (arr.length > MAX_ENTRIES) c.fail(field, `more than ${MAX_ENTRIES} entries`);
    const servers = arr.map((v, i) =>
      kind === "irc" ? readIrc(c, v, `${field}[${i}]`) : READERS[kind](c, v, `${field}[${i}]`),
    );
    (out as unknown as Record<Kind | "irc", ListOverride<unknown>>)[kind] = { mode, servers };
  }
  return out;
}

/** One IRC server entry: a string `@p2pd/ircdns` can parse, kept as written. */
function readIrc(c: Ctx, v: unknown, field: string): string {
  if (typeof v !== "string") return c.fail(field, "not a string");
  if (v.length > MAX_IRC_ENTRY) return c.fail(field, `longer than ${MAX_IRC_ENTRY} characters`);
  try {
    parseServer(v);
  } catch (err) {
    return c.fail(field, (err as Error).message.split("\n")[0] ?? "not an IRC server");
  }
  return v;
}

/** The IRC networks in effect for names: `DEFAULT_SERVERS` with the config's change applied. */
export function effectiveIrcServers(config?: ServerConfig): string[] {
  const o = config?.irc;
  const list = !o
    ? [...DEFAULT_SERVERS]
    : o.mode === "replace"
      ? o.servers
      : [...DEFAULT_SERVERS, ...o.servers];
  return [...new Set(list)];
}

/**
 * Reads the config file. Resolves to undefined when there is none at the default path; a missing
 * `P2PD_CONFIG` file, an unreadable or oversized file, bad JSON or a bad entry is a
 * ServerConfigError (ERR_BAD_CONFIG) whose one-line message names the file and the field.
 */
export async function loadServerConfig(
  opts: { env?: NodeJS.ProcessEnv; path?: string; signal?: AbortSignal } = {},
): Promise<ServerConfig | undefined> {
  const where = opts.path
    ? { path: opts.path, explicit: true }
    : configPath(opts.env ?? process.env);
  let text: string;
  try {
    const buf = await readFile(where.path, { signal: opts.signal });
    if (buf.length > MAX_CONFIG_BYTES)
      throw new ServerConfigError(
        "ERR_BAD_CONFIG",
        where.path,
        "",
        `larger than ${MAX_CONFIG_BYTES} bytes`,
      );
    text = buf.toString("utf8");
  } catch (err) {
    if (err instanceof ServerConfigError) throw err;
    if (opts.signal?.aborted) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && !where.explicit) return undefined;
    throw new ServerConfigError("ERR_BAD_CONFIG", where.path, "", `cannot read (${code ?? err})`);
  }
  return parseServerConfig(text, where.path);
}

function keyOf(kind: Kind, e: StunServerEntry | MqttServerEntry | TurnServerEntry): string {
  return kind === "stun"
    ? `${(e as StunServerEntry).transport}:${e.ip}:${e.port}`
    : (e as MqttServerEntry).url;
}

/** The lists in effect: the bundled ones with the config's replacements and extensions applied. */
export function effectiveServers(
  config?: ServerConfig,
  base: ServerLists = bundledServers(),
): ServerLists {
  const out = {} as Record<Kind, unknown[]>;
  for (const kind of KINDS) {
    const o = config?.[kind] as ListOverride<StunServerEntry> | undefined;
    const bundledList = (base[kind] as StunServerEntry[]).filter(
      (e) => !(e as unknown as MqttServerEntry).retired,
    );
    const list = !o
      ? bundledList
      : o.mode === "replace"
        ? o.servers
        : [...bundledList, ...o.servers];
    const seen = new Set<string>();
    out[kind] = list.filter((e) => {
      const k = keyOf(kind, e);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }
  return out as unknown as ServerLists;
}

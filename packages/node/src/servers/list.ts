import { isIP } from "node:net";
import { canonicalIp, hostPort } from "../ip.js";
import { ServerConfigError } from "./errors.js";
import bundled from "./servers.json" with { type: "json" };

/** A STUN server; alternate ip:port when it is RFC 5780 capable (CHANGE-REQUEST, OTHER-ADDRESS). */
export interface StunServerEntry {
  ip: string;
  port: number;
  altIp: string | null;
  altPort: number | null;
  family: 4 | 6;
  transport: "udp" | "tcp";
  /** Host name, for TLS and for re-resolving when the IP goes stale. */
  host?: string | null;
  /** YYYY-MM-DD this entry was last seen answering. */
  lastSeen?: string;
}

export interface MqttServerEntry {
  /** mqtt://IP:PORT (or mqtts:// with `tls`). */
  url: string;
  ip: string;
  port: number;
  family: 4 | 6;
  tls: boolean;
  host?: string | null;
  lastSeen?: string;
  /** Kept only so that later entries keep their index (addresses name brokers by index). */
  retired?: boolean;
}

export interface TurnServerEntry {
  /** turn:IP:PORT (or turns:). */
  url: string;
  ip: string;
  port: number;
  family: 4 | 6;
  user: string | null;
  pass: string | null;
  realm?: string | null;
  host?: string | null;
  lastSeen?: string;
}

export interface ServerLists {
  stun: StunServerEntry[];
  mqtt: MqttServerEntry[];
  turn: TurnServerEntry[];
}

/** The bundled file's version string (e.g. "2025-10-21.1"). */
export const SERVER_LIST_VERSION: string = bundled.version;

type Fail = (field: string, why: string) => never;

const HOST_NAME =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Reading context: bundled data must be IP literals with dates; a config may use host names. */
export interface Ctx {
  fail: Fail;
  /** Config files may name servers by host name and leave out dates. */
  lenient: boolean;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function port(c: Ctx, v: unknown, field: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 65535)
    c.fail(field, `not a port (1-65535): ${JSON.stringify(v)}`);
  return v;
}

/** An IP literal (canonical), or with a lenient context a host name. Returns [host, family]. */
function host(c: Ctx, v: unknown, field: string, family?: unknown): [string, 4 | 6] {
  if (typeof v !== "string" || v.length === 0) c.fail(field, "not an IP address");
  const f = isIP(v);
  if (f === 4 || f === 6) {
    const ip = canonicalIp(v, f);
    if (ip === undefined) c.fail(field, `not a usable IP address: ${JSON.stringify(v)}`);
    if (family !== undefined && family !== f) c.fail(field, `is IPv${f} but family is ${family}`);
    return [ip, f];
  }
  if (!c.lenient || !HOST_NAME.test(v))
    c.fail(field, `not an IP address${c.lenient ? " or host name" : ""}: ${JSON.stringify(v)}`);
  return [v.toLowerCase(), family === 6 ? 6 : 4];
}

function family(c: Ctx, v: unknown, field: string): 4 | 6 | undefined {
  if (v === undefined && c.lenient) return undefined;
  if (v !== 4 && v !== 6) c.fail(field, "must be 4 or 6");
  return v;
}

function optString(c: Ctx, v: unknown, field: string, max = 255): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== "string" || v.length > max || [...v].some((ch) => ch < " "))
    c.fail(field, `not a string of at most ${max} printable chars`);
  return v;
}

function meta(c: Ctx, o: Record<string, unknown>, field: string) {
  const out: { host?: string | null; lastSeen?: string } = {};
  if (o.host !== undefined && o.host !== null) {
    if (typeof o.host !== "string" || !HOST_NAME.test(o.host))
      c.fail(`${field}.host`, "not a host name");
    out.host = o.host;
  } else if (o.host === null) out.host = null;
  if (o.lastSeen !== undefined || !c.lenient) {
    if (typeof o.lastSeen !== "string" || !DATE.test(o.lastSeen))
      c.fail(`${field}.lastSeen`, "must be a date YYYY-MM-DD");
    out.lastSeen = o.lastSeen;
  }
  return out;
}

/** Splits "HOST:PORT" / "[V6]:PORT". */
function splitHostPort(s: string): [string, string] | undefined {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:[\]]+):(\d+)$/.exec(s);
  return m ? [m[1] as string, m[2] as string] : undefined;
}

export function readStun(c: Ctx, v: unknown, field: string): StunServerEntry {
  if (typeof v === "string" && c.lenient) {
    const hp = splitHostPort(v);
    if (!hp) c.fail(field, `want HOST:PORT, got ${JSON.stringify(v)}`);
    v = { ip: hp[0], port: Number(hp[1]) };
  }
  if (!isObj(v)) c.fail(field, "not an object");
  const fam = family(c, v.family, `${field}.family`);
  const [ip, f] = host(c, v.ip, `${field}.ip`, fam);
  const p = port(c, v.port, `${field}.port`);
  let altIp: string | null = null;
  let altPort: number | null = null;
  if (v.altIp !== null && v.altIp !== undefined) {
    altIp = host(c, v.altIp, `${field}.altIp`, f)[0];
    altPort = port(c, v.altPort, `${field}.altPort`);
    if (altIp === ip) c.fail(`${field}.altIp`, "an RFC 5780 alternate needs a different IP");
  } else if (v.altPort !== null && v.altPort !== undefined) {
    c.fail(`${field}.altPort`, "given without altIp");
  }
  const transport = v.transport ?? (c.lenient ? "udp" : undefined);
  if (transport !== "udp" && transport !== "tcp")
    c.fail(`${field}.transport`, "must be udp or tcp");
  return { ip, port: p, altIp, altPort, family: f, transport, ...meta(c, v, field) };
}

export function readMqtt(c: Ctx, v: unknown, field: string): MqttServerEntry {
  if (typeof v === "string" && c.lenient) v = { url: v };
  if (!isObj(v)) c.fail(field, "not an object");
  if (typeof v.url !== "string") c.fail(`${field}.url`, "not a string");
  const m = /^(mqtts?):\/\/(\[[^\]]+\]|[^:/[\]]+):(\d+)\/?$/.exec(v.url);
  if (!m) c.fail(`${field}.url`, `want mqtt://HOST:PORT, got ${JSON.stringify(v.url)}`);
  const [, scheme, rawHost, rawPort] = m as unknown as [string, string, string, string];
  const fam = family(c, v.family, `${field}.family`);
  const [ip, f] = host(c, rawHost.replace(/^\[|\]$/g, ""), `${field}.url`, fam);
  const p = port(c, Number(rawPort), `${field}.url`);
  if (v.ip !== undefined && host(c, v.ip, `${field}.ip`)[0] !== ip)
    c.fail(`${field}.ip`, "differs from the URL's host");
  if (v.port !== undefined && v.port !== p) c.fail(`${field}.port`, "differs from the URL's port");
  const tls = scheme === "mqtts";
  if (v.tls !== undefined && v.tls !== tls) c.fail(`${field}.tls`, "differs from the URL's scheme");
  const out: MqttServerEntry = {
    url: `${scheme}://${hostPort(ip, p)}`,
    ip,
    port: p,
    family: f,
    tls,
    ...meta(c, v, field),
  };
  if (v.retired === true) out.retired = true;
  else if (v.retired !== undefined && v.retired !== false)
    c.fail(`${field}.retired`, "not a boolean");
  return out;
}

export function readTurn(c: Ctx, v: unknown, field: string): TurnServerEntry {
  if (typeof v === "string" && c.lenient) v = { url: v };
  if (!isObj(v)) c.fail(field, "not an object");
  if (typeof v.url !== "string") c.fail(`${field}.url`, "not a string");
  const m = /^(turns?):(\[[^\]]+\]|[^:/[\]]+):(\d+)$/.exec(v.url);
  if (!m) c.fail(`${field}.url`, `want turn:HOST:PORT, got ${JSON.stringify(v.url)}`);
  const [, scheme, rawHost, rawPort] = m as unknown as [string, string, string, string];
  const fam = family(c, v.family, `${field}.family`);
  const [ip, f] = host(c, rawHost.replace(/^\[|\]$/g, ""), `${field}.url`, fam);
  const p = port(c, Number(rawPort), `${field}.url`);
  const user = optString(c, v.user, `${field}.user`);
  const pass = optString(c, v.pass, `${field}.pass`);
  if ((user === null) !== (pass === null)) c.fail(`${field}.pass`, "user and pass go together");
  return {
    url: `${scheme}:${hostPort(ip, p)}`,
    ip,
    port: p,
    family: f,
    user,
    pass,
    realm: optString(c, v.realm, `${field}.realm`),
    ...meta(c, v, field),
  };
}

export const READERS = { stun: readStun, mqtt: readMqtt, turn: readTurn } as const;

/** A reading context that throws ServerConfigError with `code` for `file`. */
export function context(
  code: "ERR_BAD_CONFIG" | "ERR_BAD_SERVER_LIST",
  file: string,
  lenient: boolean,
): Ctx {
  return {
    lenient,
    fail: (field, why) => {
      throw new ServerConfigError(code, file, field, why);
    },
  };
}

/**
 * Validates a server-list document (the bundled file's shape: `{format: 1, version, stun, mqtt,
 * turn}`). Throws ServerConfigError (ERR_BAD_SERVER_LIST) naming the field; never anything else.
 */
export function validateServerLists(doc: unknown, file = "servers.json"): ServerLists {
  const c: Ctx = context("ERR_BAD_SERVER_LIST", file, false);
  if (!isObj(doc)) c.fail("", "not a JSON object");
  if (doc.format !== 1) c.fail("format", "unknown format (want 1)");
  if (typeof doc.version !== "string") c.fail("version", "not a string");
  const out: ServerLists = { stun: [], mqtt: [], turn: [] };
  for (const kind of ["stun", "mqtt", "turn"] as const) {
    const list = doc[kind];
    if (!Array.isArray(list)) c.fail(kind, "not a list");
    const seen = new Set<string>();
    list.forEach((v, i) => {
      const e = READERS[kind](c, v, `${kind}[${i}]`) as StunServerEntry &
        MqttServerEntry &
        TurnServerEntry;
      const key = kind === "stun" ? `${e.transport}:${hostPort(e.ip, e.port)}` : e.url;
      if (seen.has(key)) c.fail(`${kind}[${i}]`, `duplicate of an earlier entry (${key})`);
      seen.add(key);
      out[kind].push(e);
    });
  }
  return out;
}

/** The bundled lists, validated once (they are constant; connects read them every time). */
let validatedBundle: ServerLists | undefined;

/** The server lists bundled with this package: IP literals, so starting needs no DNS. */
export function bundledServers(): ServerLists {
  validatedBundle ??= validateServerLists(bundled, "bundled servers.json");
  // A copy: callers may edit theirs.
  return structuredClone(validatedBundle);
}

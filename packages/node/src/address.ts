import { createHash } from "node:crypto";
import { AddressError } from "./errors.js";
import { canonicalIp } from "./ip.js";

/** NAT classification carried in an address (codes from nat.md §2; 0 = not tested yet). */
export interface NatInfo {
  /** 0 unknown, 1 open, 2 UDP firewall, 3 full cone, 4 restricted, 5 port restricted, 6 symmetric, 7 blocked. */
  type: number;
  /** delta type 0 unknown, 1 n/a, 2 equal, 3 preserving, 4 independent, 5 dependent, 6 random; value signed. */
  delta: { type: number; value: number };
}

/** One interface of a node, for one address family. */
export interface AddressEntry {
  /** Position in the machine's interface list (v3 `netiface_index`). */
  netifaceIndex: number;
  /** Position in the node's own interface list. */
  ifIndex: number;
  /** External (public, STUN-mapped) IP. */
  ext: string;
  /** NIC IP: peers behind the same external IP connect to this one. */
  internal: string;
  /** Node listen port. */
  port: number;
  nat: NatInfo;
}

/** Public keys of a node: X25519 to encrypt to it, Ed25519 to check its signatures. */
export interface NodePublicKeys {
  x25519: Uint8Array;
  ed25519: Uint8Array;
}

/** Which Python P2PD format an address came in (no keys: talking to it is plaintext). */
export interface P2pdFlavor {
  /** "snapshot" = the 2023-12 4-part form, "v3" = the 5-part form ending in a machine id. */
  format: "snapshot" | "v3";
  /** v3 only: 64 hex chars (P2PD compares it to tell nodes on the same machine). */
  machineId?: string;
}

export interface P2PAddress {
  /**
   * 3 = a 5-part format (this project's, with keys, or P2PD v3's, with a machine id: see `p2pd`);
   * 2 = the reference's 4-part snapshot format (no keys).
   */
  version: 2 | 3;
  /** Set for a Python P2PD address (snapshot or v3): no keys, connections to it are plaintext. */
  p2pd?: P2pdFlavor;
  /** Brokers the node listens on for signaling, as indexes into the bundled MQTT list. */
  signal: number[];
  /** Brokers not in the bundled list, as mqtt://HOST:PORT or mqtts:// URLs (issue 14). */
  brokers?: string[];
  /** The node's TURN server(s), turn:HOST:PORT or turns: (no credentials). */
  turn?: string[];
  ipv4: AddressEntry[];
  ipv6: AddressEntry[];
  nodeId: string;
  keys?: NodePublicKeys;
}

export const ADDRESS_LIMITS = {
  maxLength: 2048,
  maxEntriesPerFamily: 4,
  maxSignal: 6,
  maxSignalIndex: 255,
  /** Full broker URLs and TURN URLs carried beside the indexes. */
  maxBrokers: 6,
  maxTurn: 2,
  maxIndex: 255,
} as const;

const NODE_ID_V3 = /^[0-9a-f]{25}$/;
// Reference node ids (rand_plain) and test ids; no MQTT wildcards or separators.
const NODE_ID_V2 = /^[0-9A-Za-z_]{1,64}$/;
const KEYS = /^[0-9a-f]{128}$/;
// P2PD v3's machine id: HMAC-SHA256 or SHA-256 hex digest.
const MACHINE_ID = /^[0-9a-f]{64}$/;
const INT = /^(0|-?[1-9][0-9]{0,5})$/;

/**
 * node id = first 25 hex chars of sha256(Ed25519 key || X25519 key): an address (or name record)
 * proves both its keys, so neither can be swapped without changing the id.
 */
export function nodeIdOf(ed25519: Uint8Array, x25519: Uint8Array): string {
  return createHash("sha256").update(ed25519).update(x25519).digest("hex").slice(0, 25);
}

function int(text: string, what: string, min: number, max: number): number {
  if (!INT.test(text)) throw new AddressError(`${what} is not an integer: ${JSON.stringify(text)}`);
  const n = Number(text);
  if (n < min || n > max) throw new AddressError(`${what} ${n} out of range ${min}..${max}`);
  return n;
}

/**
 * The rendezvous part: comma-separated items. A bare integer is an index into the bundled MQTT
 * list (the reference's form); `m:HOST:PORT` / `s:HOST:PORT` are mqtt:// / mqtts:// brokers and
 * `t:HOST:PORT` / `T:HOST:PORT` turn: / turns: servers, with '-' in host names written %2D (the
 * part separator). Old addresses (indexes only) parse as before.
 */
const RENDEZVOUS = /^([mstT]):(\[[0-9a-fA-F:.]+\]|[0-9A-Za-z.%]+):([0-9]{1,5})$/;
const SCHEME = { m: "mqtt://", s: "mqtts://", t: "turn:", T: "turns:" } as const;
const HOST = /^(\[[0-9a-f:.]+\]|[0-9a-z]([0-9a-z.-]{0,251}[0-9a-z])?)$/i;

export function parseSignal(text: string): Pick<P2PAddress, "signal" | "brokers" | "turn"> {
  if (text === "" || text === "None") return { signal: [] };
  const parts = text.split(",");
  const out: number[] = [];
  const brokers: string[] = [];
  const turn: string[] = [];
  for (const p of parts) {
    const m = RENDEZVOUS.exec(p);
    if (!m) {
      out.push(int(p, "signal offset", 0, ADDRESS_LIMITS.maxSignalIndex));
      continue;
    }
    const [, kind, rawHost, rawPort] = m as unknown as [
      string,
      keyof typeof SCHEME,
      string,
      string,
    ];
    const host = rawHost.replaceAll("%2D", "-").replaceAll("%2d", "-");
    if (!HOST.test(host) || host.includes("%"))
      throw new AddressError(`bad rendezvous host ${JSON.stringify(host)}`);
    if (host.startsWith("[") && canonicalIp(host.slice(1, -1), 6) === undefined)
      throw new AddressError(`bad rendezvous IPv6 ${JSON.stringify(host)}`);
    const url = `${SCHEME[kind]}${host}:${int(rawPort, "rendezvous port", 1, 65535)}`;
    (kind === "m" || kind === "s" ? brokers : turn).push(url);
  }
  if (out.length > ADDRESS_LIMITS.maxSignal)
    throw new AddressError(`more than ${ADDRESS_LIMITS.maxSignal} signal offsets`);
  if (brokers.length > ADDRESS_LIMITS.maxBrokers)
    throw new AddressError(`more than ${ADDRESS_LIMITS.maxBrokers} broker URLs`);
  if (turn.length > ADDRESS_LIMITS.maxTurn)
    throw new AddressError(`more than ${ADDRESS_LIMITS.maxTurn} TURN servers`);
  if (new Set(out).size !== out.length) throw new AddressError("duplicate signal offset");
  if (new Set([...brokers, ...turn]).size !== brokers.length + turn.length)
    throw new AddressError("duplicate rendezvous URL");
  return {
    signal: out,
    ...(brokers.length ? { brokers } : {}),
    ...(turn.length ? { turn } : {}),
  };
}

/** Writes one broker or TURN URL as a rendezvous item; throws AddressError for anything else. */
export function rendezvousItem(url: string): string {
  const m = /^(mqtts?:\/\/|turns?:)(\[[0-9a-fA-F:.]+\]|[0-9A-Za-z.-]+):([0-9]{1,5})\/?$/.exec(url);
  if (!m) throw new AddressError(`cannot carry ${JSON.stringify(url)} in an address`);
  const [, scheme, host, port] = m as unknown as [string, string, string, string];
  const kind = (Object.keys(SCHEME) as (keyof typeof SCHEME)[]).find((k) => SCHEME[k] === scheme);
  return `${kind}:${host.replaceAll("-", "%2D")}:${port}`;
}

/**
 * Splits at '-' outside brackets: P2PD writes negative delta values with '-' inside an entry
 * (which its own parser then cannot read); ours are written with '~'.
 */
export function splitAddressParts(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "[") depth++;
    else if (c === "]") depth = Math.max(0, depth - 1);
    else if (c === "-" && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function parseEntries(text: string, family: 4 | 6, fields: 7 | 8): AddressEntry[] {
  if (text === "0") return [];
  const raw = text.split("|");
  if (raw.length > ADDRESS_LIMITS.maxEntriesPerFamily)
    throw new AddressError(`more than ${ADDRESS_LIMITS.maxEntriesPerFamily} IPv${family} entries`);
  const entries = raw.map((e) => {
    if (!e.startsWith("[") || !e.endsWith("]"))
      throw new AddressError(`IPv${family} entry not in brackets`);
    const f = e.slice(1, -1).split(",");
    if (f.length !== fields)
      throw new AddressError(`IPv${family} entry has ${f.length} fields, want ${fields}`);
    const v = fields === 8 ? f : ["0", ...f];
    const [ni, ii, ext, internal, port, nt, dt, dv] = v as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const extIp = canonicalIp(ext, family);
    const intIp = canonicalIp(internal, family);
    if (extIp === undefined) throw new AddressError(`bad IPv${family} external IP`);
    if (intIp === undefined) throw new AddressError(`bad IPv${family} internal IP`);
    return {
      netifaceIndex: int(ni, "netiface index", 0, ADDRESS_LIMITS.maxIndex),
      ifIndex: int(ii, "interface index", 0, ADDRESS_LIMITS.maxIndex),
      ext: extIp,
      internal: intIp,
      port: int(port, "port", 1, 65535),
      nat: {
        // 0 = "not tested" is ours; P2PD's codes start at 1 (its parser reads 0 all the same).
        type: int(nt, "NAT type", fields === 8 ? 0 : 1, 7),
        delta: {
          type: int(dt, "delta type", fields === 8 ? 0 : 1, 6),
          value: int(dv, "delta value", -65535, 65535),
        },
      },
    };
  });
  if (new Set(entries.map((e) => e.ifIndex)).size !== entries.length)
    throw new AddressError(`duplicate IPv${family} interface index`);
  return entries;
}

/**
 * Parses a P2P address. Accepts this project's 5-part form
 * `signal-ipv4-ipv6-nodeid-keys` (8 fields per entry, node id = hash of the keys) and Python
 * P2PD's forms: v3 `signal-ipv4-ipv6-nodeid-machineid` (8 fields, 64-hex machine id) and the
 * 2023-12 snapshot `signal-ipv4-ipv6-nodeid` (7 fields); those two come back with `p2pd` set.
 * Throws AddressError (code ERR_BAD_ADDRESS) for anything else; never anything else.
 */
export function parseAddress(text: string): P2PAddress {
  if (typeof text !== "string") throw new AddressError("address is not a string");
  if (text.length > ADDRESS_LIMITS.maxLength)
    throw new AddressError(`address longer than ${ADDRESS_LIMITS.maxLength} chars`);
  const s = text.trim();
  const parts = splitAddressParts(s);
  if (parts.length !== 4 && parts.length !== 5)
    throw new AddressError(`address has ${parts.length} parts, want 5 (or 4 for the legacy form)`);
  const version = parts.length === 5 ? 3 : 2;
  const fields = version === 3 ? 8 : 7;
  const [sig, v4, v6, id, last] = parts as [string, string, string, string, string?];
  // P2PD v3 ends in a 64-hex machine id, ours in 128 hex of keys: never both.
  const p2pdV3 = version === 3 && last !== undefined && MACHINE_ID.test(last);
  const unsign = (x: string) => x.replaceAll("~", "-");
  const addr: P2PAddress = {
    version,
    ...parseSignal(sig),
    ipv4: parseEntries(unsign(v4), 4, fields),
    ipv6: parseEntries(unsign(v6), 6, fields),
    nodeId: id,
  };
  if (addr.ipv4.length + addr.ipv6.length === 0)
    throw new AddressError("address has no interfaces");
  if (p2pdV3) {
    if (!NODE_ID_V2.test(id)) throw new AddressError("bad P2PD node id");
    addr.p2pd = { format: "v3", machineId: last as string };
  } else if (version === 3) {
    if (!NODE_ID_V3.test(id)) throw new AddressError("node id is not 25 lowercase hex chars");
    if (last === undefined || !KEYS.test(last))
      throw new AddressError("last part is neither 128 hex chars of keys nor a 64-hex machine id");
    const keys = {
      x25519: Buffer.from(last.slice(0, 64), "hex"),
      ed25519: Buffer.from(last.slice(64), "hex"),
    };
    if (nodeIdOf(keys.ed25519, keys.x25519) !== id)
      throw new AddressError("node id does not match its keys");
    addr.keys = keys;
  } else if (!NODE_ID_V2.test(id)) {
    throw new AddressError("bad legacy node id");
  } else {
    addr.p2pd = { format: "snapshot" };
  }
  return addr;
}

/** Like parseAddress but returns undefined instead of throwing. */
export function tryParseAddress(text: string): P2PAddress | undefined {
  try {
    return parseAddress(text);
  } catch {
    return undefined;
  }
}

function formatEntries(entries: AddressEntry[], version: 2 | 3, p2pd: boolean): string {
  if (entries.length === 0) return "0";
  return entries
    .map((e) => {
      const f = [e.ifIndex, e.ext, e.internal, e.port, e.nat.type, e.nat.delta.type];
      // Ours writes negative delta values with '~' so '-' stays the part separator; a P2PD
      // address keeps P2PD's '-' (toP2pdAddress never writes one: P2PD cannot read it back).
      const dv =
        version === 3 && !p2pd ? String(e.nat.delta.value).replace("-", "~") : e.nat.delta.value;
      return `[${version === 3 ? `${e.netifaceIndex},` : ""}${f.join(",")},${dv}]`;
    })
    .join("|");
}

/** Writes an address. Validates by parsing the result, so it never emits what it cannot read. */
export function formatAddress(addr: P2PAddress): string {
  const canon = (e: AddressEntry, fam: 4 | 6): AddressEntry => ({
    ...e,
    ext: canonicalIp(e.ext, fam) ?? e.ext,
    internal: canonicalIp(e.internal, fam) ?? e.internal,
  });
  const rendezvous = [
    ...addr.signal.map(String),
    ...(addr.brokers ?? []).map(rendezvousItem),
    ...(addr.turn ?? []).map(rendezvousItem),
  ];
  const parts = [
    rendezvous.length === 0 && addr.version === 3 ? "None" : rendezvous.join(","),
    formatEntries(
      addr.ipv4.map((e) => canon(e, 4)),
      addr.version,
      addr.p2pd !== undefined,
    ),
    formatEntries(
      addr.ipv6.map((e) => canon(e, 6)),
      addr.version,
      addr.p2pd !== undefined,
    ),
    addr.nodeId,
  ];
  if (addr.version === 3 && addr.p2pd) {
    if (!addr.p2pd.machineId || !MACHINE_ID.test(addr.p2pd.machineId))
      throw new AddressError("a P2PD v3 address needs a 64-hex machine id");
    parts.push(addr.p2pd.machineId);
  } else if (addr.version === 3) {
    if (!addr.keys) throw new AddressError("a v3 address needs keys");
    parts.push(
      Buffer.from(addr.keys.x25519).toString("hex") +
        Buffer.from(addr.keys.ed25519).toString("hex"),
    );
  }
  const text = parts.join("-");
  parseAddress(text);
  return text;
}

/** All IPs (ext and internal) an address lists, for matching inbound sources. */
export function addressIps(addr: P2PAddress): Set<string> {
  return new Set([...addr.ipv4, ...addr.ipv6].flatMap((e) => [e.ext, e.internal]));
}

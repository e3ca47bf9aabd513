import { nodeIdOf, type P2PAddress, parseSignal, rendezvousItem } from "./address.js";
import { AddressError } from "./errors.js";

/*
 * What a name points to: the node's keys and brokers, not its full address. IRC topics hold
 * 163-312 bytes, too few for a dual-stack address with keys, and addresses change with every NAT
 * test or new IP anyway. The connector asks the named node for its current address over
 * signaling (GET_ADDR, like P2PD v3), which is authenticated by the same key.
 *   p2pd1:<rendezvous or "-">:<X25519 key, base64url>:<Ed25519 key, base64url>
 * The rendezvous is the address's form (issue 14): bundled broker indexes, and `m:HOST:PORT` /
 * `s:HOST:PORT` for brokers outside the bundled list, so a node with a private configuration is
 * reachable by name too. The keys are fixed-length and colon-free, so the rendezvous (which has
 * colons) is everything between "p2pd1:" and the last two fields. Records of indexes only (the
 * first form) read as before.
 */
const RECORD = /^p2pd1:([0-9A-Za-z.,:%[\]-]{1,200}):([A-Za-z0-9_-]{43}):([A-Za-z0-9_-]{43})$/;

export interface NameRecord {
  nodeId: string;
  /** Bundled broker indexes. */
  signal: number[];
  /** Brokers outside the bundled list, mqtt:// or mqtts:// URLs. */
  brokers?: string[];
  keys: { x25519: Uint8Array; ed25519: Uint8Array };
}

/** The record for an address: its keys and its brokers (indexes and URLs; TURN stays out). */
export function formatNameRecord(addr: P2PAddress): string {
  if (!addr.keys) throw new AddressError("a name record needs the node's keys");
  const b = (k: Uint8Array) => Buffer.from(k).toString("base64url");
  const items = [...addr.signal.map(String), ...(addr.brokers ?? []).map(rendezvousItem)];
  const text = `p2pd1:${items.length ? items.join(",") : "-"}:${b(addr.keys.x25519)}:${b(addr.keys.ed25519)}`;
  parseNameRecord(text);
  return text;
}

/** Parses a name record; throws AddressError (ERR_BAD_ADDRESS) on anything else. */
export function parseNameRecord(text: string): NameRecord {
  const m = typeof text === "string" ? RECORD.exec(text.trim()) : null;
  if (!m) throw new AddressError("not a p2pd1 name record");
  const x25519 = Buffer.from(m[2] ?? "", "base64url");
  const ed25519 = Buffer.from(m[3] ?? "", "base64url");
  if (x25519.length !== 32 || ed25519.length !== 32) throw new AddressError("bad key length");
  const part = m[1] === "-" ? "" : (m[1] ?? "");
  // "None" means "no rendezvous" in an address; in a record that is "-".
  if (part === "None") throw new AddressError("bad rendezvous in name record");
  const r = parseSignal(part);
  if (r.turn) throw new AddressError("a name record carries no TURN server");
  return {
    nodeId: nodeIdOf(ed25519, x25519),
    signal: r.signal,
    ...(r.brokers ? { brokers: r.brokers } : {}),
    keys: { x25519, ed25519 },
  };
}

/** An address with no interfaces, enough to send a signal to the named node. */
export function recordAddress(r: NameRecord): P2PAddress {
  return {
    version: 3,
    signal: r.signal,
    ...(r.brokers?.length ? { brokers: r.brokers } : {}),
    ipv4: [],
    ipv6: [],
    nodeId: r.nodeId,
    keys: r.keys,
  };
}

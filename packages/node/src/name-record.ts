import { nodeIdOf, type P2PAddress } from "./address.js";
import { AddressError } from "./errors.js";

/*
 * What a name points to: the node's keys and broker indexes, not its full address. IRC topics hold
 * 163-312 bytes, too few for a dual-stack address with keys, and addresses change with every NAT
 * test or new IP anyway. The connector asks the named node for its current address over
 * signaling (GET_ADDR, like P2PD v3), which is authenticated by the same key.
 *   p2pd1:<signal offsets, comma-separated or "-">:<X25519 key, base64url>:<Ed25519 key, base64url>
 */
const RECORD = /^p2pd1:((?:\d{1,3})(?:,\d{1,3}){0,5}|-):([A-Za-z0-9_-]{43}):([A-Za-z0-9_-]{43})$/;

export interface NameRecord {
  nodeId: string;
  signal: number[];
  keys: { x25519: Uint8Array; ed25519: Uint8Array };
}

export function formatNameRecord(addr: P2PAddress): string {
  if (!addr.keys) throw new AddressError("a name record needs the node's keys");
  const b = (k: Uint8Array) => Buffer.from(k).toString("base64url");
  const sig = addr.signal.length ? addr.signal.join(",") : "-";
  return `p2pd1:${sig}:${b(addr.keys.x25519)}:${b(addr.keys.ed25519)}`;
}

/** Parses a name record; throws AddressError (ERR_BAD_ADDRESS) on anything else. */
export function parseNameRecord(text: string): NameRecord {
  const m = typeof text === "string" ? RECORD.exec(text.trim()) : null;
  if (!m) throw new AddressError("not a p2pd1 name record");
  const x25519 = Buffer.from(m[2] ?? "", "base64url");
  const ed25519 = Buffer.from(m[3] ?? "", "base64url");
  if (x25519.length !== 32 || ed25519.length !== 32) throw new AddressError("bad key length");
  const signal = m[1] === "-" ? [] : (m[1] ?? "").split(",").map(Number);
  if (signal.some((s) => s > 255) || new Set(signal).size !== signal.length)
    throw new AddressError("bad signal offsets");
  return { nodeId: nodeIdOf(ed25519, x25519), signal, keys: { x25519, ed25519 } };
}

/** An address with no interfaces, enough to send a signal to the named node. */
export function recordAddress(r: NameRecord): P2PAddress {
  return { version: 3, signal: r.signal, ipv4: [], ipv6: [], nodeId: r.nodeId, keys: r.keys };
}

import { createHash } from "node:crypto";
import {
  type AddressEntry,
  formatAddress,
  type NatInfo,
  type P2PAddress,
  parseAddress,
} from "../address.js";
import { AddressError } from "../errors.js";

/** P2PD's NAT codes (nat_utils.py): 1 open .. 7 blocked; ours add 0 = not tested yet. */
const RESTRICT_PORT_NAT = 5;
/** P2PD's delta codes: 1 n/a .. 6 random; ours add 0 = not tested yet. */
const RANDOM_DELTA = 6;

/** True for an address in one of Python P2PD's formats (no keys: talking to it is plaintext). */
export function isP2pdAddress(addr: P2PAddress | string): boolean {
  try {
    return (typeof addr === "string" ? parseAddress(addr) : addr).p2pd !== undefined;
  } catch {
    return false;
  }
}

/**
 * A 64-hex machine id for a P2PD address of ours. P2PD hashes the host's machine id; we hash
 * the node id instead (no host identifier leaks), so P2PD never takes us for "the same machine"
 * and dials our listed IPs as for any other host.
 */
export function p2pdMachineIdOf(nodeId: string): string {
  return createHash("sha256").update(`p2pd-ts machine id ${nodeId}`).digest("hex");
}

/**
 * NAT fields P2PD reads: an untested NAT (0) is written as port restricted with a random delta
 * (P2PD then predicts nothing), and a negative delta value as random too — P2PD writes a
 * negative value with '-', which its own parser splits as a part separator.
 */
function p2pdNat(nat: NatInfo): NatInfo {
  const type = nat.type === 0 ? RESTRICT_PORT_NAT : nat.type;
  if (nat.delta.type === 0 || nat.delta.value < 0)
    return { type, delta: { type: RANDOM_DELTA, value: 0 } };
  return { type, delta: { ...nat.delta } };
}

/**
 * Writes `addr` (one of ours) as a P2PD v3 address: `None-<ipv4>-<ipv6>-<node id>-<machine id>`,
 * listing `port` (the node's P2PD listener) in every entry. No signal offsets: P2PD's offsets
 * index its own public broker list, which our node does not use, so a P2PD node reaches us by
 * direct TCP only. Throws AddressError when the address lists no interface.
 */
export function toP2pdAddress(
  addr: P2PAddress,
  opts: { port: number; machineId?: string },
): string {
  if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535)
    throw new AddressError(`bad P2PD port ${opts.port}`);
  const entry = (e: AddressEntry): AddressEntry => ({ ...e, port: opts.port, nat: p2pdNat(e.nat) });
  return formatAddress({
    version: 3,
    p2pd: { format: "v3", machineId: opts.machineId ?? p2pdMachineIdOf(addr.nodeId) },
    signal: [],
    ipv4: addr.ipv4.map(entry),
    ipv6: addr.ipv6.map(entry),
    nodeId: addr.nodeId,
  });
}

import { PortMapBadResponseError, PortMapRefusedError, PortMapUnsupportedError } from "./errors.js";
import { ipFrom16, ipTo16 } from "./ip16.js";

export const PCP_VERSION = 2;
const OP_MAP = 1;

const RESULTS: Record<number, string> = {
  1: "UNSUPP_VERSION",
  2: "NOT_AUTHORIZED",
  3: "MALFORMED_REQUEST",
  4: "UNSUPP_OPCODE",
  5: "UNSUPP_OPTION",
  6: "MALFORMED_OPTION",
  7: "NETWORK_FAILURE",
  8: "NO_RESOURCES",
  9: "UNSUPP_PROTOCOL",
  10: "USER_EX_QUOTA",
  11: "CANNOT_PROVIDE_EXTERNAL",
  12: "ADDRESS_MISMATCH",
  13: "EXCESSIVE_REMOTE_PEERS",
};

export interface PcpMapRequest {
  /** Our address as the server sees it (the source of the request). */
  clientIp: string;
  /** 12 random bytes; the same nonce renews or deletes the mapping. */
  nonce: Uint8Array;
  protocol: "tcp" | "udp";
  internalPort: number;
  /** Suggested external port, 0 for any. */
  externalPort: number;
  /** 0 deletes. */
  lifetime: number;
  /** Suggested external address; all-zero (any) by default. */
  externalIp?: string;
}

export interface PcpMapResult {
  lifetime: number;
  epoch: number;
  internalPort: number;
  externalPort: number;
  externalIp: string;
}

export function encodePcpMapRequest(r: PcpMapRequest): Uint8Array {
  if (r.nonce.length !== 12) throw new TypeError("PCP nonce must be 12 bytes");
  const b = new Uint8Array(60);
  const v = new DataView(b.buffer);
  b[0] = PCP_VERSION;
  b[1] = OP_MAP;
  v.setUint32(4, r.lifetime >>> 0);
  b.set(ipTo16(r.clientIp), 8);
  b.set(r.nonce, 24);
  b[36] = r.protocol === "tcp" ? 6 : 17;
  v.setUint16(40, r.internalPort);
  v.setUint16(42, r.externalPort);
  b.set(ipTo16(r.externalIp ?? "::ffff:0.0.0.0"), 44);
  return b;
}

/**
 * Decodes a MAP answer. Resolves to undefined for an answer to another request (nonce,
 * protocol or port differ), so the caller keeps waiting; throws typed errors otherwise.
 */
export function decodePcpMapResponse(
  b: Uint8Array,
  req: Pick<PcpMapRequest, "nonce" | "protocol" | "internalPort">,
): PcpMapResult | undefined {
  if (b.length < 4) throw new PortMapBadResponseError(`PCP: ${b.length}-byte answer`);
  // A NAT-PMP-only server answers version 0 with "unsupported version".
  if (b[0] !== PCP_VERSION) {
    if (b[0] === 0 || b[0] === 1)
      throw new PortMapUnsupportedError(`PCP: the server speaks version ${b[0]}`);
    throw new PortMapBadResponseError(`PCP: version ${b[0]}`);
  }
  if (b.length < 24 || b.length > 1100 || b.length % 4 !== 0)
    throw new PortMapBadResponseError(`PCP: ${b.length}-byte answer`);
  if (b[1] !== (0x80 | OP_MAP)) throw new PortMapBadResponseError(`PCP: opcode byte ${b[1]}`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const result = b[3] ?? 0;
  if (result === 1) throw new PortMapUnsupportedError("PCP: UNSUPP_VERSION");
  if (result !== 0) {
    // Error answers may still carry the MAP body; only refuse when it is ours or absent.
    if (b.length >= 60 && !sameRequest(b, req)) return undefined;
    throw new PortMapRefusedError(`PCP: ${RESULTS[result] ?? `result ${result}`}`, result);
  }
  if (b.length < 60) throw new PortMapBadResponseError(`PCP: ${b.length}-byte MAP answer`);
  if (!sameRequest(b, req)) return undefined;
  return {
    lifetime: v.getUint32(4),
    epoch: v.getUint32(8),
    internalPort: v.getUint16(40),
    externalPort: v.getUint16(42),
    externalIp: ipFrom16(b.subarray(44, 60)),
  };
}

function sameRequest(
  b: Uint8Array,
  req: Pick<PcpMapRequest, "nonce" | "protocol" | "internalPort">,
): boolean {
  for (let i = 0; i < 12; i++) if (b[24 + i] !== req.nonce[i]) return false;
  return (
    b[36] === (req.protocol === "tcp" ? 6 : 17) &&
    (((b[40] ?? 0) << 8) | (b[41] ?? 0)) === req.internalPort
  );
}

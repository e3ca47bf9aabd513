import { PortMapBadResponseError, PortMapRefusedError, PortMapUnsupportedError } from "./errors.js";

/** RFC 6886 port: the gateway listens on UDP 5351, answers come from it. */
export const NATPMP_PORT = 5351;

const RESULTS: Record<number, string> = {
  1: "unsupported version",
  2: "not authorized / refused",
  3: "network failure",
  4: "out of resources",
  5: "unsupported opcode",
};

export interface NatPmpMapResult {
  epoch: number;
  internalPort: number;
  externalPort: number;
  lifetime: number;
}

export function encodeNatPmpExternalAddressRequest(): Uint8Array {
  return new Uint8Array([0, 0]);
}

/** Opcode 1 maps UDP, 2 maps TCP; lifetime 0 with external port 0 deletes. */
export function encodeNatPmpMapRequest(m: {
  protocol: "tcp" | "udp";
  internalPort: number;
  externalPort: number;
  lifetime: number;
}): Uint8Array {
  const b = new Uint8Array(12);
  const v = new DataView(b.buffer);
  b[0] = 0;
  b[1] = m.protocol === "udp" ? 1 : 2;
  v.setUint16(4, m.internalPort);
  v.setUint16(6, m.externalPort);
  v.setUint32(8, m.lifetime >>> 0);
  return b;
}

function header(b: Uint8Array, op: number): { view: DataView; epoch: number } {
  if (b.length < 8) throw new PortMapBadResponseError(`NAT-PMP: ${b.length}-byte answer`);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b[0] !== 0) throw new PortMapBadResponseError(`NAT-PMP: version ${b[0]}`);
  if (b[1] !== 128 + op)
    throw new PortMapBadResponseError(`NAT-PMP: opcode ${b[1]}, expected ${128 + op}`);
  const result = view.getUint16(2);
  if (result === 1 || result === 5)
    throw new PortMapUnsupportedError(`NAT-PMP: ${RESULTS[result]}`);
  if (result !== 0)
    throw new PortMapRefusedError(`NAT-PMP: ${RESULTS[result] ?? `result ${result}`}`, result);
  return { view, epoch: view.getUint32(4) };
}

export function decodeNatPmpExternalAddress(b: Uint8Array): { epoch: number; ip: string } {
  const { epoch } = header(b, 0);
  if (b.length < 12) throw new PortMapBadResponseError(`NAT-PMP: ${b.length}-byte address answer`);
  return { epoch, ip: `${b[8]}.${b[9]}.${b[10]}.${b[11]}` };
}

export function decodeNatPmpMap(b: Uint8Array, protocol: "tcp" | "udp"): NatPmpMapResult {
  const { view, epoch } = header(b, protocol === "udp" ? 1 : 2);
  if (b.length < 16) throw new PortMapBadResponseError(`NAT-PMP: ${b.length}-byte map answer`);
  return {
    epoch,
    internalPort: view.getUint16(8),
    externalPort: view.getUint16(10),
    lifetime: view.getUint32(12),
  };
}

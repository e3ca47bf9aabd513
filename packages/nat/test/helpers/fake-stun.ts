import { createSocket, type Socket } from "node:dgram";
import { ATTR, decodeMessage, encodeMessage, StunMessage } from "@p2pd/stun";

/** A hostile STUN responder on loopback, for tests: lies about the mapped address or ignores CHANGE-REQUEST. */
export interface FakeStun {
  port: number;
  address: string;
  close(): Promise<void>;
}

export async function fakeStun(opts: {
  address?: string;
  /** The mapped address to claim (default: the truth). */
  lie?: (from: { host: string; port: number }) => { host: string; port: number };
  /** Claim this OTHER-ADDRESS (but answer everything from the primary socket). */
  other?: { host: string; port: number };
  /** Never answer. */
  silent?: boolean;
  /** Answer with these bytes instead (garbage, truncated or oversized STUN). */
  garbage?: (request: Uint8Array) => Uint8Array;
}): Promise<FakeStun> {
  const address = opts.address ?? "127.0.0.1";
  const sock: Socket = createSocket("udp4");
  await new Promise<void>((r) => sock.bind(0, address, () => r()));
  sock.on("message", (buf, rinfo) => {
    if (opts.silent) return;
    if (opts.garbage) {
      sock.send(opts.garbage(new Uint8Array(buf)), rinfo.port, rinfo.address);
      return;
    }
    let req: StunMessage;
    try {
      req = decodeMessage(new Uint8Array(buf));
    } catch {
      return;
    }
    if (req.cls !== "request") return;
    const res = new StunMessage({
      method: req.method,
      cls: "success",
      transactionId: req.transactionId,
    });
    const truth = { host: rinfo.address, port: rinfo.port };
    res.addAddress(ATTR.XOR_MAPPED_ADDRESS, opts.lie ? opts.lie(truth) : truth);
    if (opts.other) res.addAddress(ATTR.OTHER_ADDRESS, opts.other);
    sock.send(encodeMessage(res, { fingerprint: true }), rinfo.port, rinfo.address);
  });
  return {
    port: sock.address().port,
    address,
    close: () => new Promise<void>((r) => sock.close(() => r())),
  };
}

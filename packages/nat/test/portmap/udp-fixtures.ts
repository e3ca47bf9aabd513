// Loopback UDP stand-ins for a gateway's NAT-PMP/PCP port, for the failure paths and resource
// checks a healthy miniupnpd never produces. Each socket is closed by closeResponders().
import { createSocket, type Socket } from "node:dgram";

const sockets: Socket[] = [];

export function closeResponders(): void {
  for (const s of sockets.splice(0)) s.close();
}

/** A loopback UDP socket answering every datagram with `reply(request)` (or staying silent). */
export async function responder(
  reply?: (req: Buffer) => Buffer | undefined | Promise<Buffer | undefined>,
): Promise<number> {
  const s = createSocket("udp4");
  sockets.push(s);
  s.on("message", async (m, r) => {
    const out = await reply?.(m);
    if (!out) return;
    try {
      s.send(out, r.port, r.address);
    } catch {} // closed meanwhile (a delayed answer after the test)
  });
  await new Promise<void>((res) => s.bind(0, "127.0.0.1", res));
  return s.address().port;
}

/**
 * A minimal RFC 6886 server: external address `externalIp`, every map granted as asked
 * (lifetime 0 deletes, answered after `deleteDelayMs`). Requests are pushed to `requests`.
 */
export function natpmpResponder(
  externalIp: string,
  requests: Buffer[] = [],
  deleteDelayMs = 0,
): Promise<number> {
  return responder(async (req) => {
    requests.push(req);
    if (req[1] !== 0 && deleteDelayMs > 0 && req.length >= 12 && req.readUInt32BE(8) === 0)
      await new Promise((r) => setTimeout(r, deleteDelayMs));
    if (req[1] === 0)
      return Buffer.from([0, 128, 0, 0, 0, 0, 0, 1, ...externalIp.split(".").map(Number)]);
    const out = Buffer.alloc(16);
    out[1] = 128 + (req[1] ?? 0);
    out.writeUInt32BE(1, 4);
    req.copy(out, 8, 4, 8); // internal port, external port
    req.copy(out, 12, 8, 12); // lifetime
    return out;
  });
}

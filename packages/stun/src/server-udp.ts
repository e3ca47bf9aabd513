// One UDP datagram to one answer: shared by the server's own event loop and its worker processes.
import type { Socket as UdpSocket } from "node:dgram";
import { lookup as dnsLookup } from "node:dns";
import { isIP } from "node:net";
import { familyOf, normalizeHost } from "./endpoint.js";
import { type AnswerContext, answerRequest, type ListenerIndex } from "./server-answer.js";
import { type FastTail, fastAnswer } from "./server-fast.js";

export interface UdpListener extends ListenerIndex {
  udp?: UdpSocket;
  /** The fast path's fixed answer bytes, set once every port is bound (until then: general path). */
  tail?: FastTail;
}

export interface UdpStats {
  received: number;
  answered: number;
  dropped: number;
}

/** Answers (or drops) one datagram that arrived on `l`; never throws. */
export function onDatagram(
  ctx: AnswerContext,
  listeners: readonly UdpListener[],
  l: UdpListener,
  data: Buffer,
  rinfo: { address: string; port: number },
  stats: UdpStats,
): void {
  stats.received++;
  if (l.tail && l.udp) {
    const bytes = fastAnswer(ctx, l.tail, data, rinfo.address, rinfo.port);
    if (bytes) {
      stats.answered++;
      // No callback: Node then sends synchronously when it can (an async failure only loses this answer).
      l.udp.send(bytes, rinfo.port, rinfo.address);
      return;
    }
  }
  const host = normalizeHost(rinfo.address);
  const reply = answerRequest(
    ctx,
    new Uint8Array(data.buffer, data.byteOffset, data.length),
    { host, port: rinfo.port, family: familyOf(host) },
    l,
    "udp",
  );
  const out = reply
    ? listeners.find((x) => x.ipIndex === reply.via.ipIndex && x.portIndex === reply.via.portIndex)
        ?.udp
    : undefined;
  if (!reply || !out) {
    stats.dropped++;
    return;
  }
  stats.answered++;
  try {
    out.send(reply.bytes, reply.to.port, reply.to.host);
  } catch (e) {
    // A synchronous send failure (bad port, socket closing) only loses this answer.
    ctx.debug?.(`stun-server: send failed: ${(e as Error).message}`);
  }
}

/** The server sends only to the IP literals it received from: resolve them without a tick. */
export function literalLookup(
  host: string,
  family: unknown,
  cb: (err: Error | null, address: string, family: number) => void,
): void {
  const kind = isIP(host);
  if (kind !== 0) cb(null, host, kind);
  else dnsLookup(host, family as number, cb as never);
}

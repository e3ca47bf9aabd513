import type { Socket } from "node:net";
import type { Pipe } from "@p2pd/pipe";

export interface InboundGuardOptions {
  /** The connection must announce its `ID` within this (ms; 0 = no limit). */
  handshakeMs: number;
  /** Closed after this long without a byte received (ms; 0 = never). */
  idleMs: number;
  /** Bytes a connection may send before its ID (ECHO probes are small); more closes it. */
  preIdBytes: number;
  identified(): boolean;
  onIdentified(): void;
  log(line: string): void;
}

/**
 * Time limits on an inbound connection: a stranger cannot keep a socket (and its buffers) open
 * without identifying itself, nor hold an identified one open while silent forever.
 */
export function guardInbound(sock: Socket, pipe: Pipe, o: InboundGuardOptions): void {
  let timer: NodeJS.Timeout | undefined;
  if (o.handshakeMs > 0) {
    timer = setTimeout(() => {
      timer = undefined;
      if (o.identified()) return o.onIdentified();
      o.log(`inbound ${sock.remoteAddress}:${sock.remotePort}: no ID in ${o.handshakeMs} ms`);
      pipe.close({ reset: true }).catch(() => {});
    }, o.handshakeMs);
    timer.unref();
  }
  // An ID may come early: stop counting the connection as pending as soon as it does.
  let before = 0;
  const check = (chunk: Buffer) => {
    if (!o.identified()) {
      before += chunk.length;
      if (before <= o.preIdBytes) return;
      o.log(`inbound ${sock.remoteAddress}:${sock.remotePort}: ${before} bytes before any ID`);
      sock.off("data", check);
      pipe.close({ reset: true }).catch(() => {});
      return;
    }
    sock.off("data", check);
    o.onIdentified();
  };
  sock.on("data", check);
  if (o.idleMs > 0) {
    sock.setTimeout(o.idleMs, () => {
      o.log(`inbound ${sock.remoteAddress}:${sock.remotePort}: idle ${o.idleMs} ms`);
      pipe.close({ reset: true }).catch(() => {});
    });
  }
  pipe.onEnd(() => {
    if (timer) clearTimeout(timer);
    sock.off("data", check);
  });
}

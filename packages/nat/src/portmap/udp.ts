import { createSocket } from "node:dgram";
import { isIP, isIPv6 } from "node:net";
import { PortMapNoGatewayError, PortMapTimeoutError } from "./errors.js";

export interface UdpExchange<T> {
  gateway: string;
  port: number;
  /** Builds the request once our source address is known (PCP puts it in the packet). */
  build(localAddress: string): Uint8Array;
  /** A decoded answer, undefined to keep waiting (not ours), or a throw for a bad one. */
  match(packet: Uint8Array): T | undefined;
  signal?: AbortSignal;
  /** Total deadline (default 2000 ms); retransmits at 250 ms, doubling (RFC 6886 §3.1). */
  timeoutMs?: number;
  what: string;
}

/** One request/answer over a UDP socket connected to the gateway, with retransmissions. */
export function udpExchange<T>(x: UdpExchange<T>): Promise<T> {
  const { signal, timeoutMs = 2000 } = x;
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const sock = createSocket({ type: isIPv6(x.gateway) ? "udp6" : "udp4" });
    let retry: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (err: unknown, value?: T): void => {
      if (settled) return;
      settled = true;
      clearTimeout(retry);
      clearTimeout(deadline);
      signal?.removeEventListener("abort", onAbort);
      sock.removeAllListeners("message");
      sock.removeAllListeners("error");
      sock.on("error", () => {});
      try {
        sock.close();
      } catch {}
      if (err !== undefined) reject(err);
      else resolve(value as T);
    };
    const onAbort = (): void => finish(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    const deadline = setTimeout(
      () =>
        finish(
          new PortMapTimeoutError(`${x.what}: no answer from ${x.gateway} within ${timeoutMs} ms`),
        ),
      timeoutMs,
    );
    sock.on("error", (e: NodeJS.ErrnoException) => {
      // A connected UDP socket sees ICMP port/host unreachable as ECONNREFUSED/EHOSTUNREACH.
      if (e.code === "ECONNREFUSED" || e.code === "EHOSTUNREACH" || e.code === "ENETUNREACH")
        finish(
          new PortMapNoGatewayError(`${x.what}: ${x.gateway}:${x.port} ${e.code}`, { cause: e }),
        );
      // Anything else (bad or unresolvable gateway address, no route): still "no gateway here".
      else finish(new PortMapNoGatewayError(`${x.what}: ${x.gateway}: ${e.message}`, { cause: e }));
    });
    sock.on("message", (msg) => {
      try {
        const v = x.match(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength));
        if (v !== undefined) finish(undefined, v);
      } catch (e) {
        finish(e);
      }
    });
    if (!isIP(x.gateway.replace(/%.*$/, ""))) {
      finish(new PortMapNoGatewayError(`${x.what}: gateway "${x.gateway}" is not an IP address`));
      return;
    }
    // Node calls this back on failure too (after an 'error' event): check the socket is connected.
    sock.connect(x.port, x.gateway, () => {
      if (settled) return;
      let packet: Uint8Array;
      try {
        sock.remoteAddress();
        packet = x.build(sock.address().address);
      } catch (e) {
        return finish(
          (e as NodeJS.ErrnoException).code === "ERR_SOCKET_DGRAM_NOT_CONNECTED"
            ? new PortMapNoGatewayError(`${x.what}: cannot reach ${x.gateway}`, { cause: e })
            : e,
        );
      }
      let wait = 250;
      const send = (): void => {
        if (settled) return;
        try {
          sock.send(packet, (e) => {
            if (e) sock.emit("error", e);
          });
        } catch (e) {
          finish(new PortMapNoGatewayError(`${x.what}: ${(e as Error).message}`, { cause: e }));
          return;
        }
        retry = setTimeout(send, wait);
        wait *= 2;
      };
      send();
    });
  });
}

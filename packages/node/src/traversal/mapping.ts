import type dgram from "node:dgram";
import net from "node:net";
import {
  ATTR,
  decodeMessage,
  encodeMessage,
  METHOD,
  newTransactionId,
  StunMessage,
} from "@p2pd/stun";
import { type HostPort, hostPort, TraversalError } from "./errors.js";

// Fresh mappings for a punch, read from a STUN server. For TCP the STUN connection stays open
// until the punch ends: closing it (FIN) can drop the NAT mapping we are about to use.

function bindingRequest(transactionId: Uint8Array): Uint8Array {
  return encodeMessage(new StunMessage({ method: METHOD.BINDING, cls: "request", transactionId }));
}

function mappedFrom(buf: Uint8Array, tid: Uint8Array): HostPort | undefined {
  try {
    const m = decodeMessage(buf);
    if (m.cls !== "success" || m.method !== METHOD.BINDING) return undefined;
    if (Buffer.compare(m.transactionId, tid) !== 0) return undefined;
    const ep = m.getAddress(ATTR.XOR_MAPPED_ADDRESS) ?? m.getAddress(ATTR.MAPPED_ADDRESS);
    return ep && hostPort(ep);
  } catch {
    return undefined;
  }
}

export interface TcpMapping {
  local: HostPort;
  mapped: HostPort;
  /** The open STUN connection that keeps the mapping alive. */
  socket: net.Socket;
  close(): void;
}

/** Opens a TCP connection to a STUN server from `localPort` (0 = any) and reads its mapping. */
export async function openTcpMapping(opts: {
  stunServer: HostPort;
  localAddress?: string;
  localPort?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}): Promise<TcpMapping> {
  const sock = net.connect({
    host: opts.stunServer.host,
    port: opts.stunServer.port,
    localAddress: opts.localAddress,
    localPort: opts.localPort || undefined,
  });
  const tid = newTransactionId();
  try {
    const mapped = await new Promise<HostPort>((resolve, reject) => {
      let buf = Buffer.alloc(0);
      const t = setTimeout(
        () => reject(new TraversalError("ERR_STUN_TIMEOUT", "no STUN answer over TCP")),
        opts.timeoutMs ?? 3000,
      );
      const onAbort = () =>
        reject(
          new TraversalError("ERR_ABORTED", "mapping aborted", {
            cause: opts.signal?.reason,
          }),
        );
      if (opts.signal?.aborted) onAbort();
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      const done = () => {
        clearTimeout(t);
        opts.signal?.removeEventListener("abort", onAbort);
        sock.off("data", onData);
      };
      const onData = (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length < 20) return;
        const total = 20 + buf.readUInt16BE(2);
        if (buf.length < total || total > 2048) {
          if (total > 2048) {
            done();
            reject(new TraversalError("ERR_STUN_DECODE", "oversized STUN answer"));
          }
          return;
        }
        const m = mappedFrom(buf.subarray(0, total), tid);
        done();
        if (m) resolve(m);
        else reject(new TraversalError("ERR_STUN_DECODE", "STUN answer without a usable mapping"));
      };
      sock.on("data", onData);
      sock.once("error", (e) => {
        done();
        reject(new TraversalError("ERR_STUN_TIMEOUT", `STUN TCP: ${e.message}`));
      });
      sock.once("connect", () => sock.write(bindingRequest(tid)));
    });
    sock.on("error", () => {}); // late resets must not crash the process
    return {
      local: { host: sock.localAddress ?? "", port: sock.localPort ?? 0 },
      mapped,
      socket: sock,
      close: () => sock.destroy(),
    };
  } catch (err) {
    sock.destroy();
    throw err;
  }
}

/** Reads the mapping of an already bound UDP socket (RFC 8489 retransmissions, cut by timeout). */
export async function udpMapping(
  socket: dgram.Socket,
  stunServer: HostPort,
  opts: { timeoutMs?: number; rtoMs?: number; signal?: AbortSignal } = {},
): Promise<HostPort> {
  const tid = newTransactionId();
  const req = bindingRequest(tid);
  return new Promise<HostPort>((resolve, reject) => {
    let rto = opts.rtoMs ?? 200;
    let rtx: NodeJS.Timeout | undefined;
    const t = setTimeout(() => {
      done();
      reject(new TraversalError("ERR_STUN_TIMEOUT", "no STUN answer over UDP"));
    }, opts.timeoutMs ?? 3000);
    const onAbort = () => {
      done();
      reject(new TraversalError("ERR_ABORTED", "mapping aborted", { cause: opts.signal?.reason }));
    };
    const onMsg = (msg: Buffer, ri: dgram.RemoteInfo) => {
      if (ri.address !== stunServer.host || ri.port !== stunServer.port) return;
      const m = mappedFrom(msg, tid);
      if (!m) return;
      done();
      resolve(m);
    };
    // The socket may close under us (a punch that used it ended): stop, never send on it.
    const onClose = () => {
      done();
      reject(new TraversalError("ERR_ABORTED", "socket closed before STUN answered"));
    };
    const done = () => {
      clearTimeout(t);
      if (rtx) clearTimeout(rtx);
      socket.off("message", onMsg);
      socket.off("close", onClose);
      opts.signal?.removeEventListener("abort", onAbort);
    };
    if (opts.signal?.aborted) {
      onAbort();
      return;
    }
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    socket.on("message", onMsg);
    socket.once("close", onClose);
    const send = () => {
      try {
        socket.send(req, stunServer.port, stunServer.host);
      } catch {
        return onClose();
      }
      rtx = setTimeout(send, rto);
      rto *= 2;
    };
    send();
  });
}

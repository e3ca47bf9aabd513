import { encodeMessage, METHOD, newTransactionId, StunMessage } from "@p2pd/stun";
import { openTcpMapping, type TcpMapping } from "./traversal/index.js";

export interface ListenMappingOptions {
  /** NIC IP the node listens on (the mapping's source address). */
  host: string;
  /** The node's listen port (the mapping's source port). */
  port: number;
  /** STUN server of the same family (IP literal), spoken to over TCP. */
  stun: { host: string; port: number };
  /** Stops accepting on host:port at once (the listening socket must be gone before we bind). */
  unlisten(): void;
  /** Listens on host:port again. */
  relisten(): Promise<void>;
  signal: AbortSignal;
  timeoutMs?: number;
  /** A Binding request this often keeps the STUN server from closing the idle link (default 8 s). */
  refreshMs?: number;
}

/**
 * Opens the NAT mapping of the node's listen port. Behind a full-cone NAT (or an endpoint-
 * independent firewall) the listen port has no mapping until a packet leaves from it, so peers'
 * direct dials are dropped. A STUN request over TCP from the listen port creates it; the STUN
 * connection stays open (with keep-alives) so the mapping lives, and its answer tells the
 * mapped port. Linux refuses to bind a connecting socket to a port that has a listener
 * (SO_REUSEADDR allows it only without one), so the listener steps aside for one tick: close,
 * bind the STUN socket, listen again next to it.
 */
export async function openListenMapping(o: ListenMappingOptions): Promise<TcpMapping> {
  o.signal.throwIfAborted();
  o.unlisten();
  const pending = openTcpMapping({
    stunServer: o.stun,
    localAddress: o.host,
    localPort: o.port,
    signal: o.signal,
    timeoutMs: o.timeoutMs ?? 3000,
  });
  pending.catch(() => {});
  // net.connect binds on the next tick; after that the listener can bind again beside it.
  await new Promise((r) => setImmediate(r));
  let lastErr: unknown;
  for (let i = 0; i < 10; i++) {
    try {
      await o.relisten();
      lastErr = undefined;
      break;
    } catch (err) {
      lastErr = err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  if (lastErr) {
    pending.then(
      (m) => m.close(),
      () => {},
    );
    throw lastErr;
  }
  const m = await pending;
  // Keep-alive probes refresh the NAT's mapping, but servers close links idle of data (the p2pd
  // STUN server after 10 s): a Binding request now and then keeps both; answers are ignored.
  m.socket.setKeepAlive(true, 15_000);
  m.socket.on("data", () => {});
  const timer = setInterval(() => {
    const req = new StunMessage({
      method: METHOD.BINDING,
      cls: "request",
      transactionId: newTransactionId(),
    });
    if (!m.socket.destroyed) m.socket.write(encodeMessage(req));
  }, o.refreshMs ?? 8000);
  timer.unref();
  m.socket.once("close", () => clearInterval(timer));
  return m;
}

import { createSocket, type Socket } from "node:dgram";
import { createUdpTransport, StunClient } from "@p2pd/stun";
import { abortError, NatError } from "./errors.js";
import type { Family } from "./types.js";

/** Short STUN timers for probes on a LAN-to-server path; the callers cap each transaction themselves. */
const PROBE_TIMING = { rto: 100, rc: 6, rm: 4 } as const;

/** One probe socket and the STUN client that runs on it. */
export interface ProbeSocket {
  socket: Socket;
  client: StunClient;
  /** The local port it is bound to. */
  port: number;
}

/**
 * The UDP sockets of one classification run. Every probe gets its own socket (the tests depend on which
 * local port talked to whom); close() releases all of them and resolves once the OS has.
 */
export class ProbeSockets {
  readonly #family: Family;
  readonly #address: string | undefined;
  readonly #open: ProbeSocket[] = [];
  #closed = false;

  constructor(family: Family, localAddress?: string) {
    this.#family = family;
    this.#address = localAddress;
  }

  /** How many sockets are open. */
  get size(): number {
    return this.#open.length;
  }

  /** Binds a socket on `port` (0 = any) and wraps it in a STUN client. Throws ERR_NAT_BIND. */
  async open(port = 0, signal?: AbortSignal): Promise<ProbeSocket> {
    if (signal?.aborted) throw abortError(signal);
    if (this.#closed) throw new NatError("ERR_NAT_BIND", "probe sockets are closed");
    const socket = await bindSocket(this.#family, this.#address, port);
    const s: ProbeSocket = {
      socket,
      client: new StunClient(createUdpTransport(socket), PROBE_TIMING),
      port: socket.address().port,
    };
    this.#open.push(s);
    // close() may have run while we were binding: this socket must not outlive it.
    if (this.#closed) await this.close();
    return s;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const all = this.#open.splice(0);
    for (const s of all) s.client.close();
    await Promise.all(all.map((s) => closeSocket(s.socket)));
  }
}

function bindSocket(family: Family, address: string | undefined, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket({ type: family === 6 ? "udp6" : "udp4" });
    const onError = (err: Error) => {
      try {
        s.close();
      } catch {}
      reject(
        new NatError("ERR_NAT_BIND", `cannot bind UDP ${address ?? "*"}:${port}: ${err.message}`, {
          cause: err,
        }),
      );
    };
    s.once("error", onError);
    s.bind({ port, address: address ?? (family === 6 ? "::" : "0.0.0.0"), exclusive: true }, () => {
      s.off("error", onError);
      s.on("error", () => {}); // ICMP errors on send end up as timeouts
      resolve(s);
    });
  });
}

function closeSocket(s: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      s.close(() => resolve());
    } catch {
      resolve();
    }
  });
}

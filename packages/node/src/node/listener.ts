import { createServer, type Server, type Socket } from "node:net";
import { P2pdNodeError } from "../errors.js";

export interface ListenerOptions {
  /** Each accepted connection (already set to no-delay and tracked). */
  onSocket(sock: Socket): void;
  /** Aborted when the node closes: late connections are dropped. */
  closing: AbortSignal;
  log(line: string): void;
  /** Open accepted connections at most (default 256). */
  maxConnections?: number;
  /** True for a connection that may be closed to make room (it has not identified itself). */
  evictable?(sock: Socket): boolean;
}

/** The node's TCP listeners: one per NIC IP, all on the same port. */
export class Listener {
  readonly #o: ListenerOptions;
  readonly #servers = new Map<string, Server>();
  readonly #sockets = new Set<Socket>();
  #port = 0;

  constructor(o: ListenerOptions) {
    this.#o = o;
  }

  get port(): number {
    return this.#port;
  }

  /**
   * Listens on every IP on `wanted` (0 = any free port). With 0 the first listener picks the port
   * and the others must get the same one; retries a few times if another process holds it on one
   * of our IPs.
   */
  async listen(ips: string[], wanted: number, signal?: AbortSignal): Promise<number> {
    if (ips.length === 0) throw new P2pdNodeError("ERR_NO_INTERFACE", "no IP to listen on");
    for (let attempt = 0; ; attempt++) {
      let port = wanted;
      const servers: [string, Server][] = [];
      try {
        for (const host of ips) {
          const srv = await this.listenOn(host, port, signal);
          servers.push([host, srv]);
          const a = srv.address();
          if (port === 0 && a && typeof a === "object") port = a.port;
        }
        for (const [host, srv] of servers) this.#servers.set(host, srv);
        this.#port = port;
        return port;
      } catch (err) {
        for (const [, s] of servers) s.close();
        if (wanted !== 0 || attempt === 4 || signal?.aborted)
          throw new P2pdNodeError("ERR_BIND", `cannot listen: ${(err as Error).message}`, {
            cause: err,
          });
      }
    }
  }

  /** One listening server on host:port (not yet tracked: see listen() and replace()). */
  async listenOn(host: string, port: number, signal?: AbortSignal): Promise<Server> {
    const srv = createServer((sock) => this.#accept(sock));
    await new Promise<void>((resolve, reject) => {
      srv.once("error", reject);
      srv.listen({ host, port, signal, ipv6Only: host.includes(":") }, () => {
        srv.off("error", reject);
        resolve();
      });
    });
    srv.on("error", (e) => this.#o.log(`server ${host}: ${e.message}`));
    return srv;
  }

  server(host: string): Server | undefined {
    return this.#servers.get(host);
  }

  /** Tracks `fresh` as the listener of `host` (after it stepped aside); closes it if we closed meanwhile. */
  replace(host: string, fresh: Server): void {
    this.#servers.set(host, fresh);
    if (this.#o.closing.aborted) fresh.close();
  }

  #accept(sock: Socket): void {
    if (this.#o.closing.aborted) return void sock.destroy();
    if (this.#sockets.size >= (this.#o.maxConnections ?? 256)) {
      // Full: the oldest connection that never identified itself makes room (a slowloris cannot
      // lock peers out); with none, the newcomer is refused.
      let victim: Socket | undefined;
      for (const s of this.#sockets) {
        if (this.#o.evictable?.(s)) {
          victim = s;
          break;
        }
      }
      if (!victim) return void sock.destroy();
      this.#sockets.delete(victim);
      victim.destroy();
    }
    sock.setNoDelay(true);
    this.#sockets.add(sock);
    sock.on("close", () => this.#sockets.delete(sock));
    this.#o.onSocket(sock);
  }

  /** Stops accepting; resolves once every server has closed (see destroySockets()). */
  stop(): Promise<void> {
    return Promise.all(
      [...this.#servers.values()].map((s) => new Promise<void>((r) => s.close(() => r()))),
    ).then(() => {});
  }

  /** Destroys accepted connections still open (server.close() waits for them). */
  destroySockets(): void {
    for (const s of this.#sockets) s.destroy();
  }
}

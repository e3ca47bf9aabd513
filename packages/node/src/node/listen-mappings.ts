import type { Server } from "node:net";
import { codeOf } from "../errors.js";
import { hostPort, isLinkLocal6, isLoopback } from "../ip.js";
import { openListenMapping } from "../listen-mapping.js";
import { parseServer } from "../strategies/signal-fields.js";
import type { TcpMapping } from "../traversal/index.js";
import type { Listener } from "./listener.js";

type HostPort = { host: string; port: number };

/** STUN servers given as IP literals (names cannot be used here). */
export function stunLiterals(stun: readonly string[] = []): HostPort[] {
  return stun.flatMap((t) => {
    try {
      return [parseServer(t)];
    } catch {
      return [];
    }
  });
}

/** For every non-loopback, non-link-local IP: the first STUN server of its family. */
export function mappingTargets(ips: readonly string[], servers: HostPort[]) {
  return ips.flatMap((ip) => {
    if (isLoopback(ip) || isLinkLocal6(ip)) return [];
    const stun = servers.find((v) => v.host.includes(":") === ip.includes(":"));
    return stun ? [{ ip, stun }] : [];
  });
}

/**
 * Keeps the NAT mappings of our listen port open with a STUN connection over TCP from that port
 * (see listen-mapping.ts): behind a full cone it makes direct dials to us work. A mapping that
 * does not keep our port number is no use to peers (they dial our port): dropped.
 */
export class ListenMappings {
  readonly #listener: Listener;
  readonly #signal: AbortSignal;
  readonly #log: (line: string) => void;
  readonly #maps = new Set<TcpMapping>();

  constructor(listener: Listener, signal: AbortSignal, log: (line: string) => void) {
    this.#listener = listener;
    this.#signal = signal;
    this.#log = log;
  }

  /** Opens one mapping per target IP; each promise settles when its first attempt has. */
  start(ips: readonly string[], stun: readonly string[] | undefined): Promise<void>[] {
    const servers = stunLiterals(stun);
    if (servers.length === 0) return [];
    return mappingTargets(ips, servers).map(({ ip, stun }) =>
      this.#map(ip, stun).catch((err) =>
        this.#log(`listen mapping ${ip}: ${codeOf(err)} ${(err as Error).message}`),
      ),
    );
  }

  async #map(host: string, stun: HostPort): Promise<void> {
    const signal = this.#signal;
    if (signal.aborted) return;
    const old = this.#listener.server(host);
    if (!old) return;
    const port = this.#listener.port;
    let fresh: Server | undefined;
    const m = await openListenMapping({
      host,
      port,
      stun,
      signal,
      unlisten: () => old.close(),
      relisten: async () => {
        fresh = await this.#listener.listenOn(host, port);
      },
    }).finally(() => {
      if (fresh) this.#listener.replace(host, fresh);
    });
    const text = `${hostPort(host, port)} -> ${hostPort(m.mapped.host, m.mapped.port)}`;
    if (signal.aborted || m.mapped.port !== port) {
      this.#log(`listen mapping ${text}: not kept`);
      m.close();
      return;
    }
    this.#log(`listen mapping ${text}`);
    this.#maps.add(m);
    m.socket.once("close", () => {
      this.#maps.delete(m);
      if (signal.aborted) return;
      // The STUN server hung up: reopen the mapping a little later (no tight loop).
      const t = setTimeout(() => {
        this.#map(host, stun).catch((err) =>
          this.#log(`listen mapping ${host}: ${codeOf(err)} ${(err as Error).message}`),
        );
      }, 5000);
      signal.addEventListener("abort", () => clearTimeout(t), { once: true });
    });
  }

  close(): void {
    for (const m of this.#maps) m.close();
    this.#maps.clear();
  }
}

import type { Socket } from "node:net";
import type { Pipe } from "@p2pd/pipe";
import type { P2PAddress } from "../address.js";
import { guardInbound } from "../node/inbound-guard.js";
import { Listener } from "../node/listener.js";
import type { NodePipes } from "../node/pipes.js";
import type { NodeProtocol } from "../node/protocol.js";
import { toP2pdAddress } from "./address.js";
import { dialP2pd } from "./dial.js";
import { conIdMessage, p2pdPipeId } from "./protocol.js";

export interface P2pdCompatDeps {
  pipes: NodePipes;
  protocol: NodeProtocol;
  /** Files an identified inbound pipe and announces it ("pipe" event). */
  adopt(pipe: Pipe, id: string): void;
  closing: AbortSignal;
  log(line: string): void;
  maxConnections?: number;
  handshakeTimeoutMs?: number;
  idleTimeoutMs?: number;
}

/**
 * A node's side of Python P2PD interop, all plaintext (P2PD does not encrypt): a second TCP
 * listener, on the node's IPs, that speaks P2PD's node protocol, the P2PD address that lists it,
 * and direct TCP dialing of P2PD addresses. Our own connections never come here.
 */
export class P2pdCompat {
  readonly #d: P2pdCompatDeps;
  readonly #listener: Listener;

  constructor(d: P2pdCompatDeps) {
    this.#d = d;
    const pending = new WeakSet<Socket>();
    this.#listener = new Listener({
      maxConnections: d.maxConnections ?? 256,
      evictable: (s) => pending.has(s),
      closing: d.closing,
      log: d.log,
      onSocket: (s) => {
        let pipe: Pipe;
        try {
          pipe = d.pipes.wrapP2pd(s, (id, p) => {
            if (d.protocol.idOf(p) !== undefined) return;
            d.protocol.tie(p, id);
            d.adopt(p, id);
          });
        } catch (err) {
          d.log(`P2PD connection dropped: ${(err as Error).message}`);
          return void s.destroy();
        }
        d.log(`P2PD (plaintext) connection from ${s.remoteAddress}:${s.remotePort}`);
        pending.add(s);
        // Before its id a connection is nobody's: callbacks see it, nothing is queued.
        pipe.intercept(() => d.protocol.idOf(pipe) === undefined);
        guardInbound(s, pipe, {
          handshakeMs: d.handshakeTimeoutMs ?? 10_000,
          idleMs: d.idleTimeoutMs ?? 300_000,
          preIdBytes: 64 * 1024,
          identified: () => d.protocol.idOf(pipe) !== undefined,
          onIdentified: () => pending.delete(s),
          log: d.log,
        });
      },
    });
  }

  /** Starts listening on `ips` (port 0 = any free port); the port. */
  start(ips: string[], port: number, signal?: AbortSignal): Promise<number> {
    return this.#listener.listen(ips, port, signal);
  }

  get port(): number {
    return this.#listener.port;
  }

  /** Our address in P2PD v3 format, listing the P2PD listener's port. */
  address(parsed: P2PAddress): string {
    return toP2pdAddress(parsed, { port: this.port });
  }

  /**
   * Direct TCP to a P2PD address, then the id message in the far end's format; the pipe and
   * its id (already filed under it by the caller's adopt).
   */
  async dial(
    remote: P2PAddress,
    signal: AbortSignal,
    timeoutMs?: number,
  ): Promise<{ pipe: Pipe; id: string }> {
    const sock = await dialP2pd(remote, { signal, ...(timeoutMs ? { timeoutMs } : {}) });
    const id = p2pdPipeId();
    const pipe = this.#d.pipes.wrapP2pd(sock, () => {});
    this.#d.protocol.tie(pipe, id);
    this.#d.log(`P2PD (plaintext) connection to ${sock.remoteAddress}:${sock.remotePort}`);
    try {
      await pipe.send(conIdMessage(remote.p2pd?.format ?? "v3", id), undefined, { signal });
    } catch (err) {
      await pipe.close().catch(() => {});
      throw err;
    }
    return { pipe, id };
  }

  stop(): Promise<void> {
    return this.#listener.stop();
  }

  destroySockets(): void {
    this.#listener.destroySockets();
  }
}

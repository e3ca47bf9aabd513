import type { Pipe } from "@p2pd/pipe";
import { type NodeTransport, wrapConnection } from "../pipe.js";
import type { NodeProtocol } from "./protocol.js";
import type { NodeMessageCb } from "./types.js";

/**
 * The node's connections: wraps transports as pipes with the node protocol in front, runs the
 * node-wide message callbacks, keeps the id -> pipe map, and closes them all on node close.
 */
export class NodePipes {
  /** Pipes tied to an id (`ID` verb), as `node.pipes` in the reference. */
  readonly byId = new Map<string, Pipe>();
  readonly #all = new Set<Pipe>();
  readonly #cbs = new Set<NodeMessageCb>();
  readonly #protocol: NodeProtocol;
  readonly #log: (line: string) => void;

  constructor(protocol: NodeProtocol, log: (line: string) => void) {
    this.#protocol = protocol;
    this.#log = log;
  }

  /** Wraps a connection as a node pipe: node protocol, node callbacks, closed on close(). */
  wrap(t: NodeTransport): Pipe {
    const pipe = wrapConnection(t);
    this.#all.add(pipe);
    pipe.onEnd(() => {
      this.#all.delete(pipe);
      const id = this.#protocol.idOf(pipe);
      if (id && this.byId.get(id) === pipe) this.byId.delete(id);
    });
    this.#protocol.attach(pipe, (data, p) => {
      for (const cb of this.#cbs) {
        try {
          cb(data, p);
        } catch (err) {
          this.#log(`message callback: ${err}`);
        }
      }
    });
    return pipe;
  }

  /** Files a pipe under its id. */
  add(pipe: Pipe, id: string): void {
    if (pipe.isOpen) this.byId.set(id, pipe);
  }

  /** Runs `cb` for every message on every node pipe (before the built-in ECHO/ID handling). */
  onMessage(cb: NodeMessageCb): () => void {
    this.#cbs.add(cb);
    return () => this.#cbs.delete(cb);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.#all].map((p) => p.close().catch(() => {})));
    this.#cbs.clear();
  }
}

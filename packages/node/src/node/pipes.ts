import type { Duplex } from "node:stream";
import { NodePipe } from "../pipe.js";
import type { NodeMessageCb } from "./types.js";

/**
 * The node's connections: wraps streams as pipes with the node protocol in front, runs the
 * node-wide message callbacks, keeps the id -> pipe map, and closes them all on node close.
 */
export class NodePipes {
  /** Pipes tied to an id (`ID` verb), as `node.pipes` in the reference. */
  readonly byId = new Map<string, NodePipe>();
  readonly #all = new Set<NodePipe>();
  readonly #cbs = new Set<NodeMessageCb>();
  readonly #protocol: (data: Buffer, pipe: NodePipe) => boolean;
  readonly #log: (line: string) => void;

  constructor(protocol: (data: Buffer, pipe: NodePipe) => boolean, log: (line: string) => void) {
    this.#protocol = protocol;
    this.#log = log;
  }

  /** Wraps a connected stream as a node pipe: node protocol, user callbacks, closed on close(). */
  wrap(stream: Duplex): NodePipe {
    const pipe = new NodePipe(stream);
    this.#all.add(pipe);
    pipe.onClose(() => {
      this.#all.delete(pipe);
      if (pipe.id && this.byId.get(pipe.id) === pipe) this.byId.delete(pipe.id);
    });
    pipe.onMessage((data, p) => {
      for (const cb of this.#cbs) {
        try {
          cb(data, p);
        } catch (err) {
          this.#log(`message callback: ${err}`);
        }
      }
    });
    pipe.intercept = this.#protocol;
    return pipe;
  }

  /** Files a pipe under its id. */
  add(pipe: NodePipe): void {
    if (pipe.id) this.byId.set(pipe.id, pipe);
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

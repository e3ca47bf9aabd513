import type { Socket } from "node:net";
import { type Pipe, type PipeOptions, type QueueBudget, wrapSocket } from "@p2pd/pipe";
import { attachP2pdProtocol, P2PD_PIPE_OPTIONS } from "../p2pd-compat/protocol.js";
import {
  NODE_MAX_QUEUE_BYTES,
  NODE_QUEUE_BUDGET,
  type NodeTransport,
  wrapConnection,
} from "../pipe.js";
import type { SecureOptions, SecureStream } from "../secure/channel.js";
import { type SecureRole, wrapSecure } from "../secure/connection.js";
import { SecureError } from "../secure/errors.js";
import type { SecureIdentity } from "../secure/identity.js";
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
  /** Unread bytes of every node pipe together: one bound for the whole node. */
  readonly budget: QueueBudget;
  readonly #maxQueueBytes: number;
  /** Our Noise credentials; undefined only with the explicit plaintext opt-in. */
  readonly #identity: SecureIdentity | undefined;
  readonly #secure = new WeakMap<Pipe, SecureStream>();
  readonly #rekey: SecureOptions["rekey"];

  constructor(
    protocol: NodeProtocol,
    log: (line: string) => void,
    identity: SecureIdentity | undefined,
    limits: { maxQueueBytes?: number; queueBudgetBytes?: number } = {},
    rekey?: SecureOptions["rekey"],
  ) {
    this.#rekey = rekey;
    this.#protocol = protocol;
    this.#log = log;
    this.#identity = identity;
    this.budget = { maxBytes: limits.queueBudgetBytes ?? NODE_QUEUE_BUDGET, used: 0 };
    this.#maxQueueBytes = limits.maxQueueBytes ?? NODE_MAX_QUEUE_BYTES;
  }

  /**
   * Wraps a connection as a node pipe: the Noise channel (unless the node is plaintext by
   * choice), node protocol, node callbacks, closed on close(). This is the one place a transport
   * becomes a node connection; `role` says who initiates and whom we expect. Unread messages
   * count against the node's byte budget.
   */
  wrap(t: NodeTransport, role: SecureRole): Pipe {
    const bounds: PipeOptions = { queueBudget: this.budget, maxQueueBytes: this.#maxQueueBytes };
    let pipe: Pipe;
    if (this.#identity) {
      const w = wrapSecure(t, this.#identity, role, bounds, this.#rekey);
      pipe = w.pipe;
      this.#secure.set(pipe, w.secure);
      w.secure.ready.catch((err: Error) => this.#log(`secure handshake: ${err.message}`));
    } else {
      pipe = wrapConnection(t, bounds);
    }
    this.#track(pipe);
    this.#protocol.attach(pipe, (data, p) => this.#runCbs(data, p));
    return pipe;
  }

  /**
   * Wraps a TCP socket to or from a Python P2PD node: plaintext (P2PD does not encrypt), raw
   * chunks, P2PD's node protocol in front (test message, `P2P_CON_ID_EQ`); `onId` gets the id
   * the far end announced. Closed with the node like every node pipe.
   */
  wrapP2pd(sock: Socket, onId: (id: string, pipe: Pipe) => void): Pipe {
    const pipe = wrapSocket(sock, {
      ...P2PD_PIPE_OPTIONS,
      queueBudget: this.budget,
      maxQueueBytes: this.#maxQueueBytes,
    });
    this.#track(pipe);
    attachP2pdProtocol(pipe, onId, (data, p) => this.#runCbs(data, p));
    return pipe;
  }

  #track(pipe: Pipe): void {
    this.#all.add(pipe);
    pipe.onEnd(() => {
      this.#all.delete(pipe);
      const id = this.#protocol.idOf(pipe);
      if (id && this.byId.get(id) === pipe) this.byId.delete(id);
    });
  }

  #runCbs(data: Buffer, p: Pipe): void {
    for (const cb of this.#cbs) {
      try {
        cb(data, p);
      } catch (err) {
        this.#log(`message callback: ${err}`);
      }
    }
  }

  /**
   * Resolves once the pipe's far end proved who it is (at once on a plaintext node); rejects
   * with ERR_PEER_AUTH when it is not `nodeId`, or with the handshake's own error.
   */
  async verified(pipe: Pipe, nodeId?: string): Promise<void> {
    const sec = this.#secure.get(pipe);
    if (!sec) return;
    const peer = await sec.ready;
    if (nodeId !== undefined && peer.nodeId !== nodeId)
      throw new SecureError("ERR_PEER_AUTH", `far end is node ${peer.nodeId}, not ${nodeId}`);
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
